"""A simulation's experiment kernel, as the simulations service launches it.

Where its kernel comes from (a warm one of the pool, or one started for it, once more if it died
before answering), the environment it is given, what the service keeps while it is up (`Run`), and
how a launch step gives way to a stop request (`unless_stopped`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pathlib
from collections.abc import Callable

from kernel_ext.protocol import Env, KernelEvent

from .kernel_pool import KernelPool
from .kernel_runner import KernelDied, KernelRunner
from .models import Simulation
from .run_logs import simulation_log_name

log = logging.getLogger(__name__)

# The experiment kernel's Jupyter runtime directory, inside its simulation directory.
KERNEL_RUNTIME_DIR = ".jupyter_runtime"

EventSink = Callable[[KernelEvent | KernelDied], None]


class Run:
    """What the service keeps about a simulation whose kernel is up."""

    def __init__(self, runner: KernelRunner):
        self.runner = runner
        self.initialized: asyncio.Future = asyncio.get_running_loop().create_future()
        self.stopped = asyncio.Event()


class LaunchStopped(Exception):
    """A stop request overtook the launch (raised by `unless_stopped`)."""


async def unless_stopped(awaitable, stop: asyncio.Event, *, interruptible: bool = True):
    """`awaitable`'s result, unless `stop` is set first: then LaunchStopped is raised, once the
    awaitable is cancelled (or, if it is not `interruptible`, once it has ended by itself)."""
    task = asyncio.ensure_future(awaitable)
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
    if task.done():
        return task.result()
    if interruptible:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise LaunchStopped


class SimulationKernels:
    """Makes and starts the kernels of simulations; `settings` is the service's Settings."""

    def __init__(self, kernel_manager, settings, pool: KernelPool | None = None):
        self._km = kernel_manager
        self._settings = settings
        # Warm kernels a launch takes instead of starting one (NrpJupyterApp.warm_kernels).
        self._pool = pool

    def runner(self, record: Simulation, on_event: EventSink) -> KernelRunner:
        """A kernel runner for the simulation, not started yet."""
        settings = self._settings
        return KernelRunner(self._km, kernel_name=settings.kernel_name, on_event=on_event,
                            output_file=self._output_file(record), output_limit=settings.output_limit_bytes,
                            secrets=settings.secrets)

    @staticmethod
    def _output_file(record: Simulation) -> pathlib.Path:
        return pathlib.Path(record.simulation_dir) / simulation_log_name(record.simulation_id)

    async def start(self, record: Simulation, run: Run, on_event: EventSink) -> None:
        """Takes a warm kernel from the pool when one is ready. Else starts the simulation's kernel,
        and once more in a fresh one if it died before answering.
        jupyter_client chooses a local kernel's ports before the kernel binds them, and another
        process (an engine, another kernel) may take one in between: the kernel then dies at once
        with "Address already in use". A kernel that dies for a lasting reason dies twice."""
        if self._pool is not None and (warm := await self._pool.take()) is not None:
            warm.attach(on_event, self._output_file(record), self._settings.output_limit_bytes)
            run.runner = warm
            return
        cwd, env = pathlib.Path(record.simulation_dir), self.environment(record)
        try:
            await run.runner.start(cwd, env, self._settings.launch_timeout_s)
            return
        except RuntimeError as error:
            if run.runner.kernel_id is None:  # it never started (a gateway refused it): nothing to retry
                raise
            log.warning("simulation %d: the kernel died while starting (%s); starting another",
                        record.simulation_id, error)
            await run.runner.shutdown()
        run.runner = self.runner(record, on_event)
        await run.runner.start(cwd, env, self._settings.launch_timeout_s)

    def environment(self, record: Simulation) -> dict[str, str]:
        """The simulation's variables, which its kernel makes its environment."""
        settings = self._settings
        return {Env.SIMULATION_ID: str(record.simulation_id),
                # Also the mark of every process the simulation starts (process_sweep).
                Env.SIMULATION_DIR: record.simulation_dir,
                Env.EXPERIMENT_CONFIG: record.experiment_configuration,
                Env.MAIN_SCRIPT: record.main_script,
                Env.MQTT_PREFIX: settings.mqtt_prefix,
                Env.MQTT_BROKER: settings.engine_broker,
                Env.STATUS_INTERVAL: str(settings.status_interval_s),
                # A runtime directory of its own: the server's holds jpserver-<pid>.json, with its
                # token, which experiment code has no business finding.
                "JUPYTER_RUNTIME_DIR": str(pathlib.Path(record.simulation_dir) / KERNEL_RUNTIME_DIR)}

    def refill(self) -> None:
        """Once a launch has answered: a kernel start would slow it down."""
        if self._pool is not None:
            self._pool.refill()

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
