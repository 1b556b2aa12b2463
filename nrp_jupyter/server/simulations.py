"""The simulations service: what the REST handlers, the WebSocket and the app call.

It owns the simulation records (persisted in the registry) and drives every transition through
the lifecycle module. Each simulation runs in a kernel of its own (simulation_kernels.py starts
it); the kernel's events move the record on (completion, failure) and are republished by the status
publisher (kernel_events.py); releasing.py ends a simulation (script, kernel, processes, archives).
Transitions of one simulation are serialised by a lock of its own; different simulations never
wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pathlib
from dataclasses import dataclass

from kernel_ext.protocol import Command, Failed, Initialized

from .errors import (ClientError, GeneralError, NotOwner, SimulationNotFinal, StateTransitionError,
                     SimulationNotFound, StoppedWhileLaunching, TooManySimulations)
from .kernel_pool import KernelPool
from .kernel_events import KernelEvents, status_of
from .kernel_runner import DEFAULT_OUTPUT_LIMIT, KernelCommandError, KernelGone
from .lifecycle import FINAL_STATES, SimulationState, Trigger, next_state, requested_transition
from .log_reader import read_logs
from .models import LaunchRequest, Simulation, StateRequest
from .proxy_storage import ProxyExperiments
from .releasing import Releaser
from .run_logs import unfinished_engines
from .controls import Controls
from .simulation_kernels import LaunchStopped, Run, SimulationKernels, unless_stopped
from .status_publisher import StatusPublisher
from . import steering_declarations
from .launch_checks import check_experiment

log = logging.getLogger(__name__)

State = SimulationState


@dataclass(frozen=True)
class Settings:
    kernel_name: str = "python3"
    max_simulations: int = 4
    status_interval_s: float = 1.0
    stop_grace_s: float = 1.0
    launch_timeout_s: float = 60.0
    output_limit_bytes: int = DEFAULT_OUTPUT_LIMIT
    mqtt_prefix: str = ""
    engine_broker: str = ""
    # Kept out of experiment kernels' environments (the server's token).
    secrets: tuple[str, ...] = ()


class SimulationService:
    def __init__(self, *, registry, storage, kernel_manager, publisher: StatusPublisher, settings: Settings,
                 proxy: ProxyExperiments | None = None, pool: KernelPool | None = None):
        self._registry = registry
        self._storage = storage
        # NRP mode: launches by a proxy token fetch their experiment from the proxy's storage, and
        # their archives go back there at stop, with the latest token of the owner (kept in memory only).
        self._proxy = proxy
        self._proxy_tokens: dict[int, str] = {}
        self._kernels = SimulationKernels(kernel_manager, settings, pool)
        self._releaser = Releaser(storage=storage, proxy=proxy, stop_grace_s=settings.stop_grace_s)
        self._publisher = publisher
        self.settings = settings
        self._records: dict[int, Simulation] = {record.simulation_id: record for record in registry.list()}
        self._runs: dict[int, Run] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # Set by a stop request for a simulation still being launched: the launch gives up at once.
        self._launch_stops: dict[int, asyncio.Event] = {}
        self._background: set[asyncio.Task] = set()
        # Steering, reads, step and reset (controls.py): our requests beyond NRP's lifecycle.
        self.controls = Controls(self)
        self._events = KernelEvents(self)

    # -- queries -------------------------------------------------------------------------------

    def list(self) -> list[Simulation]:
        return [self._records[key] for key in sorted(self._records)]

    def get(self, simulation_id: int) -> Simulation:
        try:
            return self._records[simulation_id]
        except KeyError:
            raise SimulationNotFound() from None

    def active(self) -> list[Simulation]:
        # NRP counts a completed simulation as running: its resources are not freed yet.
        return [record for record in self._records.values() if record.state not in FINAL_STATES]

    def logs(self, simulation_id: int) -> dict:
        record = self.get(simulation_id)
        folders = self._storage.archive_folders(record.experiment_id)
        files = read_logs(record.simulation_dir, folders, simulation_id)
        return {"simulationID": simulation_id, "files": files}

    # -- launch ----------------------------------------------------------------------------------

    async def launch(self, body, owner: str, proxy_token: str | None = None) -> Simulation:
        """Launches the experiment the body names: from the local storage, or, given the caller's
        `proxy_token` in NRP mode, from the NRP proxy's storage."""
        request = LaunchRequest.from_body(body)
        if proxy_token is None or self._proxy is None:
            experiment_dir = self._storage.resolve(request.experiment_id)
            check_experiment(self._storage.root, experiment_dir, request)
            return await self._launch(request, owner, None)
        self._check_capacity()  # before a fetch that may take long
        fetched = self._storage.staging_dir()
        try:
            await self._proxy.fetch(request.experiment_id, proxy_token, fetched)
            check_experiment(fetched, fetched, request)
        except BaseException:
            self._storage.remove(fetched)
            raise
        return await self._launch(request, owner, fetched, proxy_token)

    def _check_capacity(self) -> None:
        if len(self.active()) >= self.settings.max_simulations:
            raise TooManySimulations(self.settings.max_simulations)

    async def _launch(self, request: LaunchRequest, owner: str, fetched: pathlib.Path | None,
                      proxy_token: str | None = None) -> Simulation:
        try:
            self._check_capacity()
        except TooManySimulations:
            if fetched is not None:
                self._storage.remove(fetched)
            raise
        record = Simulation(simulation_id=self._registry.allocate_id(), experiment_id=request.experiment_id,
                            experiment_configuration=request.experiment_configuration,
                            main_script=request.main_script, owner=owner, ctx_id=request.ctx_id,
                            mqtt_prefix=self.settings.mqtt_prefix, state=State.CREATED)
        self._records[record.simulation_id] = record
        self._registry.add(record)
        self._launch_stops[record.simulation_id] = asyncio.Event()
        if proxy_token is not None:
            self._proxy_tokens[record.simulation_id] = proxy_token
        try:
            async with self._lock(record.simulation_id):
                await self._initialize(record, fetched)
        finally:
            del self._launch_stops[record.simulation_id]
            self._kernels.refill()
        return record

    async def _initialize(self, record: Simulation, fetched: pathlib.Path | None) -> None:
        sid = record.simulation_id
        steps = ["Copying the experiment", "Starting the experiment kernel", "Initializing nrp-core"]
        publish = self._publisher.progress
        stop = self._launch_stops[sid]
        step = steps[0]
        publish(sid, "Launching simulation", step, index=0, count=len(steps))
        if fetched is None:
            record.simulation_dir = str(self._storage.clone(record.experiment_id, sid))
        else:
            record.simulation_dir = str(self._storage.adopt(fetched, sid))
        self._save(record)
        run = self._runs[sid] = Run(self._kernels.runner(record, self._event_sink(sid)))
        timeout_s = self.settings.launch_timeout_s
        try:
            step = steps[1]
            publish(sid, "Launching simulation", step, index=1, count=len(steps))
            # A kernel start cut short would leave a kernel the kernel manager half knows (no id for
            # us to shut it down, an entry that breaks /api/kernels): it ends first, then is stopped.
            await unless_stopped(self._kernels.start(record, run, self._event_sink(sid)), stop,
                                 interruptible=False)
            runner = run.runner
            record.kernel_id = runner.kernel_id
            self._save(record)
            step = steps[2]
            publish(sid, "Launching simulation", step, index=2, count=len(steps))
            await unless_stopped(runner.bootstrap(self._kernels.environment(record), timeout_s), stop)
            outcome = await unless_stopped(asyncio.wait_for(asyncio.shield(run.initialized), timeout_s), stop)
        except LaunchStopped:
            await self._abandon_launch(record, run, step)
        except asyncio.TimeoutError:
            outcome = Failed(reason=f"{step} did not end within the launch timeout ({timeout_s:g} s)"
                                    f"{unfinished_engines(record)}")
        except (KernelGone, KernelCommandError, OSError, RuntimeError) as error:
            outcome = Failed(reason=f"{step} failed: {error}")
        publish(sid, "Launching simulation", done=True)
        if isinstance(outcome, Initialized):
            record.nrpcoresim_pid = outcome.nrpcoresim_pid
            self._transition(record, Trigger.INITIALIZED)
            return
        if (record.runtime_error or {}).get("error_type") == "Compile":
            # NRP answers the launch of a broken script with `paused` and fails it right after.
            self._transition(record, Trigger.INITIALIZED)
            self._in_background(self._fail(sid, outcome.reason or "the main script does not compile"))
            return
        reason = outcome.reason or "initialization failed"
        await self._fail_locked(record, reason)
        if outcome.cause == "experiment":
            # The experiment's files are at fault (an engine refused them): the client's to fix.
            raise ClientError(f"The experiment '{record.experiment_id}' could not be loaded "
                              f"(simulation {sid} failed): {reason}")
        raise GeneralError(f"the simulation could not be initialized: {reason}")

    async def _abandon_launch(self, record: Simulation, run: Run, step: str) -> None:
        """A stop overtook the launch at `step`: no cooperative stop (the kernel may be busy starting
        NRPCoreSim, an engine may hang in initialize), everything of the simulation ends now."""
        log.info("simulation %d: stopped while launching (%s)", record.simulation_id, step)
        run.stopped.set()
        self._publisher.progress(record.simulation_id, "Launching simulation", done=True)
        await self._release(record)
        self._transition(record, Trigger.STOPPED)
        raise StoppedWhileLaunching(record.simulation_id, step)

    def _event_sink(self, simulation_id: int):
        return lambda event: self._events.on_event(simulation_id, event)

    # -- state changes from REST -------------------------------------------------------------

    async def set_state(self, simulation_id: int, body, user: str,
                        proxy_token: str | None = None) -> Simulation:
        record = self.get(simulation_id)
        request = StateRequest.from_body(body)
        if record.owner != user:
            raise NotOwner()
        if proxy_token is not None and simulation_id in self._proxy_tokens:
            # The owner's latest token: the one of the launch may have expired by the stop.
            self._proxy_tokens[simulation_id] = proxy_token
        launch_stop = self._launch_stops.get(simulation_id)
        if launch_stop is not None and request.state == State.STOPPED.value:
            # Stop wins over a launch, a hung one included: the launch holds the lock until it ends,
            # so it is told to give up rather than waited for.
            launch_stop.set()
        async with self._lock(simulation_id):
            if launch_stop is not None and launch_stop.is_set() and record.state is State.STOPPED:
                return record
            transition = requested_transition(record.state, request.state)
            if transition.silent:
                return record
            await self._act(record, transition.trigger)
            if record.state is transition.source:
                self._transition(record, transition.trigger)
        return record

    async def _act(self, record: Simulation, trigger: Trigger) -> None:
        run = self._runs.get(record.simulation_id)
        if trigger in (Trigger.STARTED, Trigger.PAUSED):
            # The kernel's start() also resumes a paused script.
            await self._command(run, Command.START if trigger is Trigger.STARTED else Command.PAUSE)
        elif trigger is Trigger.COMPLETED:
            await self._stop_script(record)
        elif trigger in (Trigger.STOPPED, Trigger.FAILED):
            await self._release(record)

    @staticmethod
    async def _command(run: Run, command: Command) -> None:
        try:
            await run.runner.command(command)
        except KernelCommandError as error:
            if error.ename != "IllegalCommand":
                raise
            # The kernel's simulation moved on (its script completed or failed) and the event that
            # says so has not reached the record yet: the request meets a state it cannot change.
            raise StateTransitionError(f"The state transition is invalid (the simulation changed state "
                                       f"meanwhile: {error.evalue})") from None

    async def delete(self, simulation_id: int, user: str) -> None:
        record = self.get(simulation_id)
        if record.owner != user:
            raise NotOwner()
        if record.state not in FINAL_STATES:
            raise SimulationNotFinal.removal(simulation_id, record.state)
        del self._records[simulation_id]
        self._locks.pop(simulation_id, None)
        self._registry.delete(simulation_id)

    # -- what kernel events lead to (kernel_events.py) ------------------------------------------

    async def _complete(self, simulation_id: int) -> None:
        record = self._records.get(simulation_id)
        async with self._lock(simulation_id):
            if record.state in (State.STARTED, State.PAUSED):
                self._transition(record, Trigger.COMPLETED)

    async def _fail(self, simulation_id: int, reason: str) -> None:
        record = self._records.get(simulation_id)
        if record is None:
            return
        async with self._lock(simulation_id):
            if record.state not in FINAL_STATES:
                await self._fail_locked(record, reason)

    async def _fail_locked(self, record: Simulation, reason: str) -> None:
        record.reason = reason
        await self._release(record)
        self._transition(record, Trigger.FAILED)

    # -- stopping ------------------------------------------------------------------------------

    async def _stop_script(self, record: Simulation) -> None:
        """Ends the main script and NRPCoreSim, cooperatively first; the kernel stays."""
        run = self._runs.get(record.simulation_id)
        if run is not None:
            await self._releaser.stop_script(record, run)

    async def _release(self, record: Simulation) -> None:
        """Stops everything of a simulation: script, NRPCoreSim, engines, kernel; archives its logs
        into the experiment and removes its directory."""
        sid = record.simulation_id
        run = self._runs.get(sid)
        self._publisher.progress(sid, "Shutting down Simulation", "Stopping the simulation", count=2)
        if run is not None:
            # The run stays known until its kernel is down: its Stopped event ends a cooperative stop.
            await self._releaser.end_run(record, run)
            del self._runs[sid]
        await self._releaser.end_processes(record)
        self._publisher.progress(sid, "Shutting down Simulation", "Archiving the logs and data", index=1,
                                 count=2)
        await self._releaser.archive(record)
        token = self._proxy_tokens.pop(sid, None)
        if token is not None:
            await self._releaser.upload_archives(record, token)
        self._publisher.progress(sid, "Shutting down Simulation", done=True)

    async def close(self) -> None:
        """Server shutdown: stops every simulation that still runs. Safe to call again."""
        for record in self.active():
            with contextlib.suppress(Exception):
                async with self._lock(record.simulation_id):
                    if record.state not in FINAL_STATES:
                        await self._release(record)
                        self._transition(record, Trigger.STOPPED)
        for task in list(self._background):
            task.cancel()
        await self._kernels.close()

    # -- for controls.py and kernel_events.py -------------------------------------------------------

    @property
    def publisher(self) -> StatusPublisher:
        return self._publisher

    def lock(self, simulation_id: int) -> asyncio.Lock:
        """The lock that serialises the transitions of one simulation."""
        return self._lock(simulation_id)

    def transition(self, record: Simulation, trigger: Trigger) -> None:
        self._transition(record, trigger)

    def run_of(self, simulation_id: int) -> Run | None:
        return self._runs.get(simulation_id)

    def fail_later(self, simulation_id: int, reason: str) -> None:
        self._in_background(self._fail(simulation_id, reason))

    def complete_later(self, simulation_id: int) -> None:
        self._in_background(self._complete(simulation_id))

    def record_of(self, simulation_id: int) -> Simulation | None:
        """The simulation's record, None once it is deleted."""
        return self._records.get(simulation_id)

    def save(self, record: Simulation) -> None:
        self._save(record)

    def steering_controls(self, record: Simulation) -> list[dict]:
        """The controls of the simulation's steering.json: its copy while it runs, else the experiment's."""
        folder = (pathlib.Path(record.simulation_dir)
                  if record.simulation_dir and pathlib.Path(record.simulation_dir).is_dir()
                  else self._storage.resolve(record.experiment_id))
        config = pathlib.PurePosixPath(record.experiment_configuration).parent
        name = steering_declarations.FILE_NAME
        return steering_declarations.load(folder / config / name, shown_as=f"{record.experiment_id}/{name}")

    # -- helpers -------------------------------------------------------------------------------

    def _transition(self, record: Simulation, trigger: Trigger) -> None:
        transition = next_state(record.state, trigger)
        record.apply(transition)
        self._save(record)
        if transition.silent:
            return
        sid = record.simulation_id
        self._publisher.lifecycle(sid, transition.source.value, trigger.value, transition.target.value)
        self._publish_status(record)
        if record.state in FINAL_STATES:
            self._publisher.forget(sid)
            self.controls.forget(sid)

    def _publish_status(self, record: Simulation) -> None:
        self._publisher.status(record.simulation_id, status_of(record))

    def _save(self, record: Simulation) -> None:
        self._registry.update(record)

    def _lock(self, simulation_id: int) -> asyncio.Lock:
        return self._locks.setdefault(simulation_id, asyncio.Lock())

    def _in_background(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
