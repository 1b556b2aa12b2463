"""Warm experiment kernels: started ahead, so that a launch does not wait for one.

A pooled kernel is up and has already imported what the bootstrap needs (protocol.WARM_UP). It
knows nothing of a simulation: the launch that takes it sends the simulation's variables with the
bootstrap (protocol.bootstrap_code), which makes them the kernel's environment and moves it to the
simulation directory. A kernel is taken by one launch and ends with its simulation; the pool starts
its replacement once the launch has answered (`refill`), one kernel at a time, so that a start,
about a second of CPU, does not compete with the launch it serves. A pooled kernel that dies is
shut down and replaced, never handed out. The pool's kernels end with the server (`close`).

Until it is taken, a kernel runs in the pool's own directory, with its Jupyter runtime directory
there: the server's holds the server's token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pathlib
import shutil
import tempfile

from .kernel_runner import KernelDied, KernelRunner

# Kernels that failed to start one after the other before the pool stops trying: a kernel spec
# that cannot start would otherwise be started forever. Launches then start their own kernel,
# and their failure says why.
MAX_FAILED_STARTS = 3


class KernelPool:
    """Up to `size` started kernels of `kernel_name`, ready to be taken by a launch."""

    def __init__(self, kernel_manager, *, size: int, kernel_name: str, directory: pathlib.Path,
                 start_timeout_s: float, secrets: tuple[str, ...] = (), log: logging.Logger | None = None):
        self._km = kernel_manager
        # The server's log: a pool that cannot start kernels must be seen there.
        self.log = log or logging.getLogger(__name__)
        self.size = size
        self._kernel_name = kernel_name
        self._directory = directory
        self._start_timeout_s = start_timeout_s
        self._secrets = secrets
        self._ready: list[KernelRunner] = []
        self._filling: asyncio.Task | None = None
        self._dying: set[asyncio.Task] = set()
        self._failed_starts = 0
        self._closed = False

    @property
    def ready_kernel_ids(self) -> list[str]:
        return [runner.kernel_id for runner in self._ready]

    def refill(self) -> None:
        """Starts kernels in the background until `size` are ready; does nothing while it already does."""
        if self._closed or self.size <= 0 or (self._filling is not None and not self._filling.done()):
            return
        self._filling = asyncio.ensure_future(self._fill())

    async def take(self) -> KernelRunner | None:
        """A ready kernel, alive, now the caller's (`KernelRunner.attach` it); None if none is ready."""
        while self._ready:
            runner = self._ready.pop(0)
            # The liveness watch reports a death within its interval: ask now, not after.
            if not runner.closed and await runner.is_alive():
                return runner
            # The launch that asked refills the pool once it has answered.
            self.log.info("kernel pool: kernel %s died while waiting; not handed out", runner.kernel_id)
            self._end(runner)
        return None

    async def close(self) -> None:
        """Ends every kernel of the pool (server shutdown); a start under way ends first."""
        self._closed = True
        if self._filling is not None:
            # Not cancelled: a start cut short leaves a kernel the kernel manager half knows.
            with contextlib.suppress(Exception):
                await self._filling
        ready, self._ready = self._ready, []
        await asyncio.gather(*(runner.shutdown() for runner in ready), *self._dying, return_exceptions=True)
        shutil.rmtree(self._directory, ignore_errors=True)

    async def _fill(self) -> None:
        while not self._closed and len(self._ready) < self.size and self._failed_starts < MAX_FAILED_STARTS:
            runner = self._new_runner()
            try:
                await runner.start(self._directory, self._environment(), self._start_timeout_s)
                await runner.warm_up(self._start_timeout_s)
            except Exception as error:  # noqa: BLE001 (the pool tries again; a launch starts its own)
                self._failed_starts += 1
                self.log.warning("kernel pool: a %s kernel did not start (%s: %s)%s", self._kernel_name,
                                 type(error).__name__, error,
                                 "; the pool stops trying" if self._failed_starts >= MAX_FAILED_STARTS else "")
                await runner.shutdown()
                continue
            self._failed_starts = 0
            if self._closed:
                await runner.shutdown()
                return
            self._ready.append(runner)
            self.log.info("kernel pool: kernel %s ready (%d of %d)", runner.kernel_id, len(self._ready), self.size)

    def _new_runner(self) -> KernelRunner:
        runner = KernelRunner(self._km, kernel_name=self._kernel_name,
                              on_event=lambda event: self._on_waiting_kernel_event(runner, event),
                              secrets=self._secrets)
        return runner

    def _environment(self) -> dict[str, str]:
        # No KERNEL_NRP_* here: the bootstrap brings the simulation's.
        return {"JUPYTER_RUNTIME_DIR": str(self._directory / ".jupyter_runtime")}

    def _on_waiting_kernel_event(self, runner: KernelRunner, event) -> None:
        """A kernel not yet taken has nothing to say but that it died."""
        if isinstance(event, KernelDied) and runner in self._ready:
            self.log.warning("kernel pool: kernel %s died while waiting; starting another", runner.kernel_id)
            self._ready.remove(runner)
            self._end(runner)
            self.refill()

    def _end(self, runner: KernelRunner) -> None:
        task = asyncio.ensure_future(runner.shutdown())
        self._dying.add(task)
        task.add_done_callback(self._dying.discard)


def pool_directory(simulations_dir: str) -> pathlib.Path:
    """A fresh directory for the pool's kernels, beside the simulation directories."""
    parent = simulations_dir or None
    if parent is not None:
        os.makedirs(parent, exist_ok=True)
    return pathlib.Path(tempfile.mkdtemp(prefix="nrp-kernel-pool.", dir=parent))
