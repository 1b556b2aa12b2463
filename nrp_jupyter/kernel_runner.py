"""One experiment kernel, seen from the server: start, commands, events, liveness, escalating stop.

The protocol is docs/architecture.md's: commands are execute requests on the kernel's main shell
(answered at once, the script runs on a thread of its own), events come back as `display_data`
on iopub. One kernel client per kernel with a session id of its own, one reader task per channel
(two clients of one kernel manager would number their messages alike and steal replies).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import pathlib
import uuid
from collections.abc import Callable

import psutil

from .kernel_environment import inherited_environment

log = logging.getLogger(__name__)

EVENT_MIME = "application/vnd.nrp-jupyter.event+json"
BOOTSTRAP = ("from kernel_ext.simulation_server import SimulationServer as _S; "
             "__nrp_simulation__ = _S.from_environment(); __nrp_simulation__.initialize()")
COMMANDS = {"start", "pause", "resume", "stop"}
# How often the kernel's process is checked; a dead kernel is reported within this time.
LIVENESS_INTERVAL_S = 0.25


class KernelCommandError(Exception):
    """A command raised in the kernel; `ename` is the exception's class name there."""

    def __init__(self, command: str, ename: str, evalue: str):
        self.ename = ename
        super().__init__(f"{command}: {ename}: {evalue}")


class KernelGone(Exception):
    """The kernel died or was shut down while a command was pending."""


class KernelRunner:
    """Runs one simulation's kernel and reports its events through `on_event(event: dict)`."""

    def __init__(self, kernel_manager, *, kernel_name: str, on_event: Callable[[dict], None],
                 output_file: pathlib.Path | None = None, secrets: tuple[str, ...] = ()):
        self._km = kernel_manager
        self._secrets = secrets
        self._kernel_name = kernel_name
        self._on_event = on_event
        self._output_file = output_file
        self.kernel_id: str | None = None
        self._client = None
        self._tasks: list[asyncio.Task] = []
        self._replies: dict[str, asyncio.Future] = {}
        self._closed = False

    async def start(self, cwd: pathlib.Path, env: dict[str, str], timeout_s: float) -> None:
        """Starts the kernel in `cwd` with `env` on top of the server's environment (without the
        server's `secrets`), and waits until it answers."""
        # The kernel manager replaces the environment instead of merging it.
        inherited = inherited_environment(os.environ, self._secrets)
        self.kernel_id = await self._km.start_kernel(kernel_name=self._kernel_name, cwd=str(cwd),
                                                     env={**inherited, **env})
        kernel = self._km.get_kernel(self.kernel_id)
        # An experiment kernel restarted empty would look alive with nothing running in it. The
        # restarter is already running: stop it first (stop_restarter does nothing once
        # autorestart is off), then keep it off.
        kernel.stop_restarter()
        kernel.autorestart = False
        client = kernel.client()
        client.session.session = str(uuid.uuid4())
        started = client.start_channels()
        if inspect.isawaitable(started):
            await started
        await client.wait_for_ready(timeout=timeout_s)
        self._client = client
        self._tasks = [asyncio.ensure_future(self._read_iopub()), asyncio.ensure_future(self._read_shell()),
                       asyncio.ensure_future(self._watch_liveness())]

    @property
    def pid(self) -> int | None:
        """The kernel's process id when it runs on this machine, else None."""
        kernel = self._km.get_kernel(self.kernel_id) if self.kernel_id in self._km else None
        provisioner = getattr(kernel, "provisioner", None)
        return getattr(provisioner, "pid", None)

    async def bootstrap(self, timeout_s: float) -> None:
        await self._execute("initialize", BOOTSTRAP, timeout_s)

    async def command(self, name: str, timeout_s: float = 10.0) -> None:
        if name not in COMMANDS:
            raise ValueError(f"unknown kernel command {name!r}")
        await self._execute(name, f"__nrp_simulation__.{name}()", timeout_s)

    async def _execute(self, name: str, code: str, timeout_s: float) -> None:
        if self._client is None or self._closed:
            raise KernelGone(f"{name}: the kernel is not running")
        # stop_on_error=False: a refused command must not make the kernel abort the ones after it.
        msg_id = self._client.execute(code, silent=False, store_history=False, allow_stdin=False,
                                      stop_on_error=False)
        reply = asyncio.get_running_loop().create_future()
        self._replies[msg_id] = reply
        try:
            content = await asyncio.wait_for(reply, timeout_s)
        finally:
            self._replies.pop(msg_id, None)
        if content.get("status") == "error":
            raise KernelCommandError(name, content.get("ename", ""), content.get("evalue", ""))

    async def _read_shell(self) -> None:
        while True:
            message = await self._client.get_shell_msg()
            waiting = self._replies.get(message.get("parent_header", {}).get("msg_id"))
            if waiting is not None and not waiting.done():
                waiting.set_result(message["content"])

    async def _read_iopub(self) -> None:
        while True:
            message = await self._client.get_iopub_msg()
            kind = message["header"]["msg_type"]
            content = message["content"]
            if kind == "display_data" and EVENT_MIME in content.get("data", {}):
                self._deliver(content["data"][EVENT_MIME])
            elif kind == "stream":
                self._record_output(content.get("text", ""))
            elif kind == "error":
                self._record_output("\n".join(content.get("traceback", [])) + "\n")

    def _deliver(self, event) -> None:
        try:
            self._on_event(event)
        except Exception:  # noqa: BLE001 (a faulty listener must not stop the reader)
            log.exception("handling kernel event %r failed", event)

    def _record_output(self, text: str) -> None:
        if self._output_file is not None and text:
            with contextlib.suppress(OSError), open(self._output_file, "a") as output:
                output.write(text)

    async def _watch_liveness(self) -> None:
        while not self._closed:
            await asyncio.sleep(LIVENESS_INTERVAL_S)
            if self._closed:
                return
            try:
                alive = await self._km.get_kernel(self.kernel_id).is_alive()
            except KeyError:
                alive = False
            if not alive and not self._closed:
                self._closed = True
                self._fail_pending()
                self._deliver({"event": "kernel_died"})
                return

    def _fail_pending(self) -> None:
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(KernelGone("the kernel died"))

    async def shutdown(self) -> None:
        """Ends the kernel and every process under it; safe to call twice."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        self._fail_pending()
        children = _descendants(self.pid)
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.stop_channels()
        if self.kernel_id is not None and self.kernel_id in self._km:
            # The simulation is over: nothing in the kernel needs a graceful exit.
            with contextlib.suppress(Exception):
                await self._km.shutdown_kernel(self.kernel_id, now=True)
        _kill(children)


def _descendants(pid: int | None) -> list[psutil.Process]:
    if pid is None:
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def kill_process_tree(pid: int | None) -> None:
    """Kills a process and its descendants (NRPCoreSim and its engines after a hung stop)."""
    if pid is None:
        return
    try:
        root = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return
    _kill([*root.children(recursive=True), root])
