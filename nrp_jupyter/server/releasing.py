"""How a simulation ends: its script and NRPCoreSim, its kernel, every process it started, its archives.

The simulations service calls these steps in order when a simulation stops or fails (`_release`),
and `stop_script` alone when its script completes; the service keeps the records and the runs.
"""

from __future__ import annotations

import asyncio
import logging
import pathlib
import time

from kernel_ext.protocol import Command

from .errors import NrpError
from .kernel_runner import KernelCommandError, KernelGone, kill_process_tree
from .models import Simulation
from .process_sweep import end_processes_of
from .proxy_storage import ProxyExperiments
from .run_logs import archive_run, note_failure, simulation_log_name
from .simulation_kernels import Run

log = logging.getLogger(__name__)


class Releaser:
    def __init__(self, *, storage, proxy: ProxyExperiments | None, stop_grace_s: float):
        self._storage = storage
        self._proxy = proxy
        self._stop_grace_s = stop_grace_s

    async def stop_script(self, record: Simulation, run: Run) -> None:
        """Ends the main script and NRPCoreSim, cooperatively first; the kernel stays."""
        began = time.monotonic()
        step = "the kernel's answer to stop"
        try:
            await run.runner.command(Command.STOP, timeout_s=self._stop_grace_s)
            step = "NRPCoreSim's shutdown"
            await asyncio.wait_for(run.stopped.wait(), self._stop_grace_s)
        except (asyncio.TimeoutError, KernelCommandError, KernelGone) as error:
            # Named, because the remedy differs: a kernel that does not answer, or a shutdown that
            # needs a longer stop_grace (a loaded machine: sixteen simulations ending together).
            log.warning("simulation %d did not stop by itself (%s after %.1f s%s); killing NRPCoreSim",
                        record.simulation_id, step, time.monotonic() - began,
                        f": {error}" if str(error) else "")
            kill_process_tree(record.nrpcoresim_pid)

    async def end_run(self, record: Simulation, run: Run) -> None:
        """Stops the script and NRPCoreSim (unless they have), then shuts the kernel down."""
        began = time.monotonic()
        if not run.stopped.is_set():
            await self.stop_script(record, run)
        stopped = time.monotonic()
        await run.runner.shutdown()
        log.info("simulation %d: script and NRPCoreSim stopped in %.3f s, kernel shut down in %.3f s",
                 record.simulation_id, stopped - began, time.monotonic() - stopped)

    @staticmethod
    async def end_processes(record: Simulation) -> None:
        # Whatever the simulation started and detached (setsid, double fork) ends with it.
        await asyncio.to_thread(end_processes_of, record.simulation_dir)

    async def archive(self, record: Simulation) -> None:
        """Archives the run's logs and data into the experiment and removes the simulation directory."""
        if not record.simulation_dir:
            return
        simulation_dir = pathlib.Path(record.simulation_dir)
        note_failure(record, simulation_dir / simulation_log_name(record.simulation_id))
        # Zipping a run's data files can take a while: not on the server's event loop.
        if await asyncio.to_thread(archive_run, self._storage, record, simulation_dir):
            self._storage.remove(simulation_dir)

    async def upload_archives(self, record: Simulation, token: str) -> None:
        """NRP mode: the run's archives into the experiment's folder at the proxy, as NRP's backend
        uploads its log archive at stop. They stay in the local storage too (GET .../logs reads
        them there); a failed upload is logged with where the archives are kept."""
        archives = self._storage.archives_of(record.experiment_id, record.simulation_id)
        try:
            await self._proxy.upload(record.experiment_id, archives, token)
        except NrpError as error:
            log.warning("simulation %d: archives not uploaded to the NRP proxy (%s); they are kept in %s",
                        record.simulation_id, error.message, ", ".join(str(path) for path in archives))
