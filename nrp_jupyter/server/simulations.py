"""The simulations service: what the REST handlers, the WebSocket and the app call.

It owns the simulation records (persisted in the registry) and drives every transition through
the lifecycle module. Each simulation runs in a kernel of its own (kernel_runner); the kernel's
events move the record on (completion, failure) and are republished by the status publisher.
Transitions of one simulation are serialised by a lock of its own; different simulations never
wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pathlib
import time
from dataclasses import dataclass
from typing import assert_never

from kernel_ext.protocol import (Command, Completed, DataPackRead, Env, Failed, Initialized, KernelEvent, Progress,
                                 ResetDone, RuntimeErrorEvent, Status, Steered, Stepped, Stopped)

from .errors import (ClientError, GeneralError, NotOwner, NrpError, SimulationNotFinal,
                     SimulationNotFound, StoppedWhileLaunching, TooManySimulations)
from .kernel_pool import KernelPool
from .kernel_runner import (DEFAULT_OUTPUT_LIMIT, KernelCommandError, KernelDied, KernelGone, KernelRunner,
                            kill_process_tree)
from .lifecycle import FINAL_STATES, SimulationState, Trigger, next_state, requested_transition
from .log_reader import read_logs
from .models import LaunchRequest, Simulation, StateRequest
from .process_sweep import end_processes_of
from .proxy_storage import ProxyExperiments
from .run_logs import archive_run, note_failure, simulation_log_name, unfinished_engines
from .controls import Controls
from .status_publisher import StatusPublisher
from . import steering_declarations
from .launch_checks import check_experiment

log = logging.getLogger(__name__)

State = SimulationState
# The times of NRP's status payload, kept from the kernel's last status event.
STATUS_TIMES = ("realTime", "simulationTime", "simulationTimeLeft")
# The experiment kernel's Jupyter runtime directory, inside its simulation directory.
KERNEL_RUNTIME_DIR = ".jupyter_runtime"


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


class _Run:
    """What the service keeps about a simulation whose kernel is up."""

    def __init__(self, runner: KernelRunner):
        self.runner = runner
        self.initialized: asyncio.Future = asyncio.get_running_loop().create_future()
        self.stopped = asyncio.Event()


class _LaunchStopped(Exception):
    """A stop request overtook the launch (raised inside `_initialize`)."""


async def _unless_stopped(awaitable, stop: asyncio.Event, *, interruptible: bool = True):
    """`awaitable`'s result, unless `stop` is set first: then _LaunchStopped is raised, once the
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
    raise _LaunchStopped


class SimulationService:
    def __init__(self, *, registry, storage, kernel_manager, publisher: StatusPublisher, settings: Settings,
                 proxy: ProxyExperiments | None = None, pool: KernelPool | None = None):
        self._registry = registry
        self._storage = storage
        # NRP mode: launches by a proxy token fetch their experiment from the proxy's storage, and
        # their archives go back there at stop, with the latest token of the owner (kept in memory only).
        self._proxy = proxy
        self._proxy_tokens: dict[int, str] = {}
        self._km = kernel_manager
        # Warm kernels a launch takes instead of starting one (NrpJupyterApp.warm_kernels).
        self._pool = pool
        self._publisher = publisher
        self.settings = settings
        self._records: dict[int, Simulation] = {record.simulation_id: record for record in registry.list()}
        self._runs: dict[int, _Run] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        # Set by a stop request for a simulation still being launched: the launch gives up at once.
        self._launch_stops: dict[int, asyncio.Event] = {}
        self._background: set[asyncio.Task] = set()
        # Steering, reads, step and reset (controls.py): our requests beyond NRP's lifecycle.
        self.controls = Controls(self)

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
        files = read_logs(record.simulation_dir, self._storage.archive_folders(record.experiment_id), simulation_id)
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
            if self._pool is not None:
                # Once the launch has answered: a kernel start would slow it down.
                self._pool.refill()
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
        run = self._runs[sid] = _Run(self._kernel_runner(record))
        timeout_s = self.settings.launch_timeout_s
        try:
            step = steps[1]
            publish(sid, "Launching simulation", step, index=1, count=len(steps))
            # A kernel start cut short would leave a kernel the kernel manager half knows (no id for
            # us to shut it down, an entry that breaks /api/kernels): it ends first, then is stopped.
            await _unless_stopped(self._start_kernel(record, run), stop, interruptible=False)
            runner = run.runner
            record.kernel_id = runner.kernel_id
            self._save(record)
            step = steps[2]
            publish(sid, "Launching simulation", step, index=2, count=len(steps))
            await _unless_stopped(runner.bootstrap(self._kernel_env(record), timeout_s), stop)
            outcome = await _unless_stopped(asyncio.wait_for(asyncio.shield(run.initialized), timeout_s), stop)
        except _LaunchStopped:
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

    async def _abandon_launch(self, record: Simulation, run: _Run, step: str) -> None:
        """A stop overtook the launch at `step`: no cooperative stop (the kernel may be busy starting
        NRPCoreSim, an engine may hang in initialize), everything of the simulation ends now."""
        log.info("simulation %d: stopped while launching (%s)", record.simulation_id, step)
        run.stopped.set()
        self._publisher.progress(record.simulation_id, "Launching simulation", done=True)
        await self._release(record)
        self._transition(record, Trigger.STOPPED)
        raise StoppedWhileLaunching(record.simulation_id, step)

    def _kernel_runner(self, record: Simulation) -> KernelRunner:
        return KernelRunner(self._km, kernel_name=self.settings.kernel_name,
                            on_event=self._event_sink(record.simulation_id), output_file=self._output_file(record),
                            output_limit=self.settings.output_limit_bytes, secrets=self.settings.secrets)

    def _event_sink(self, simulation_id: int):
        return lambda event: self._on_event(simulation_id, event)

    @staticmethod
    def _output_file(record: Simulation) -> pathlib.Path:
        return pathlib.Path(record.simulation_dir) / simulation_log_name(record.simulation_id)

    async def _start_kernel(self, record: Simulation, run: _Run) -> None:
        """Takes a warm kernel from the pool when one is ready. Else starts the simulation's kernel,
        and once more in a fresh one if it died before answering.
        jupyter_client chooses a local kernel's ports before the kernel binds them, and another
        process (an engine, another kernel) may take one in between: the kernel then dies at once
        with "Address already in use". A kernel that dies for a lasting reason dies twice."""
        if self._pool is not None and (warm := await self._pool.take()) is not None:
            warm.attach(self._event_sink(record.simulation_id), self._output_file(record),
                        self.settings.output_limit_bytes)
            run.runner = warm
            return
        cwd, env = pathlib.Path(record.simulation_dir), self._kernel_env(record)
        try:
            await run.runner.start(cwd, env, self.settings.launch_timeout_s)
            return
        except RuntimeError as error:
            if run.runner.kernel_id is None:  # it never started (a gateway refused it): nothing to retry
                raise
            log.warning("simulation %d: the kernel died while starting (%s); starting another",
                        record.simulation_id, error)
            await run.runner.shutdown()
        run.runner = self._kernel_runner(record)
        await run.runner.start(cwd, env, self.settings.launch_timeout_s)

    def _kernel_env(self, record: Simulation) -> dict[str, str]:
        return {Env.SIMULATION_ID: str(record.simulation_id),
                # Also the mark of every process the simulation starts (process_sweep).
                Env.SIMULATION_DIR: record.simulation_dir,
                Env.EXPERIMENT_CONFIG: record.experiment_configuration,
                Env.MAIN_SCRIPT: record.main_script,
                Env.MQTT_PREFIX: self.settings.mqtt_prefix,
                Env.MQTT_BROKER: self.settings.engine_broker,
                Env.STATUS_INTERVAL: str(self.settings.status_interval_s),
                # A runtime directory of its own: the server's holds jpserver-<pid>.json, with its
                # token, which experiment code has no business finding.
                "JUPYTER_RUNTIME_DIR": str(pathlib.Path(record.simulation_dir) / KERNEL_RUNTIME_DIR)}

    # -- state changes from REST -------------------------------------------------------------

    async def set_state(self, simulation_id: int, body, user: str, proxy_token: str | None = None) -> Simulation:
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
        if trigger is Trigger.STARTED:
            # The kernel's start() also resumes a paused script.
            await run.runner.command(Command.START)
        elif trigger is Trigger.PAUSED:
            await run.runner.command(Command.PAUSE)
        elif trigger is Trigger.COMPLETED:
            await self._stop_script(record)
        elif trigger in (Trigger.STOPPED, Trigger.FAILED):
            await self._release(record)

    async def delete(self, simulation_id: int, user: str) -> None:
        record = self.get(simulation_id)
        if record.owner != user:
            raise NotOwner()
        if record.state not in FINAL_STATES:
            raise SimulationNotFinal.removal(simulation_id, record.state)
        del self._records[simulation_id]
        self._locks.pop(simulation_id, None)
        self._registry.delete(simulation_id)

    # -- kernel events -----------------------------------------------------------------------

    def _on_event(self, simulation_id: int, event: KernelEvent | KernelDied) -> None:
        record = self._records.get(simulation_id)
        run = self._runs.get(simulation_id)
        if record is None or run is None:
            return
        log.debug("simulation %d: kernel event %s", simulation_id, event)
        match event:
            case Initialized() | Failed():
                # A failure after the launch comes with a Completed(failed=True) or a KernelDied.
                if not run.initialized.done():
                    run.initialized.set_result(event)
            case Progress():
                self._publisher.kernel_progress(simulation_id, _payload(event))
            case Status():
                record.last_status = {key: getattr(event, key) for key in STATUS_TIMES}
                self._publish_status(record)
            case RuntimeErrorEvent():
                record.runtime_error = _payload(event)
                self._save(record)
                self._publisher.runtime_error(simulation_id, record.runtime_error)
            case Completed(failed=True):
                self.controls.ended(simulation_id)
                self._in_background(self._fail(simulation_id, _reason(record, "the simulation broke")))
            case Completed():
                self.controls.ended(simulation_id)
                self._in_background(self._complete(simulation_id))
            case Stopped():
                run.stopped.set()
                self.controls.ended(simulation_id)
            case Steered() | DataPackRead() | Stepped() | ResetDone():
                self.controls.on_event(simulation_id, event)
            case KernelDied():
                self.controls.ended(simulation_id)
                self._kernel_died(record, run)
            case _:
                assert_never(event)

    def _kernel_died(self, record: Simulation, run: _Run) -> None:
        if not run.initialized.done():
            run.initialized.set_result(Failed(reason="the experiment kernel died"))
        if record.state not in FINAL_STATES:
            error = _payload(RuntimeErrorEvent(msg="The experiment kernel died unexpectedly", error_type="Runtime",
                                               fileName=record.main_script))
            record.runtime_error = error
            self._publisher.runtime_error(record.simulation_id, error)
            self._in_background(self._fail(record.simulation_id, "the experiment kernel died"))

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
        if run is None:
            return
        began = time.monotonic()
        step = "the kernel's answer to stop"
        try:
            await run.runner.command(Command.STOP, timeout_s=self.settings.stop_grace_s)
            step = "NRPCoreSim's shutdown"
            await asyncio.wait_for(run.stopped.wait(), self.settings.stop_grace_s)
        except (asyncio.TimeoutError, KernelCommandError, KernelGone) as error:
            # Named, because the remedy differs: a kernel that does not answer, or a shutdown that
            # needs a longer stop_grace (a loaded machine: sixteen simulations ending together).
            log.warning("simulation %d did not stop by itself (%s after %.1f s%s); killing NRPCoreSim",
                        record.simulation_id, step, time.monotonic() - began,
                        f": {error}" if str(error) else "")
            kill_process_tree(record.nrpcoresim_pid)

    async def _release(self, record: Simulation) -> None:
        """Stops everything of a simulation: script, NRPCoreSim, engines, kernel; archives its logs
        into the experiment and removes its directory."""
        sid = record.simulation_id
        run = self._runs.get(sid)
        self._publisher.progress(sid, "Shutting down Simulation", "Stopping the simulation", count=2)
        if run is not None:
            began = time.monotonic()
            if not run.stopped.is_set():
                await self._stop_script(record)
            stopped = time.monotonic()
            await run.runner.shutdown()
            del self._runs[sid]
            log.info("simulation %d: script and NRPCoreSim stopped in %.3f s, kernel shut down in %.3f s",
                     sid,                      stopped - began, time.monotonic() - stopped)
        # Whatever the simulation started and detached (setsid, double fork) ends with it.
        await asyncio.to_thread(end_processes_of, record.simulation_dir)
        self._publisher.progress(sid, "Shutting down Simulation", "Archiving the logs and data", index=1,
                                 count=2)
        if record.simulation_dir:
            simulation_dir = pathlib.Path(record.simulation_dir)
            note_failure(record, simulation_dir / simulation_log_name(sid))
            # Zipping a run's data files can take a while: not on the server's event loop.
            if await asyncio.to_thread(archive_run, self._storage, record, simulation_dir):
                self._storage.remove(simulation_dir)
        token = self._proxy_tokens.pop(sid, None)
        if token is not None:
            await self._upload_archives(record, token)
        self._publisher.progress(sid, "Shutting down Simulation", done=True)

    async def _upload_archives(self, record: Simulation, token: str) -> None:
        """NRP mode: the run's archives into the experiment's folder at the proxy, as NRP's backend
        uploads its log archive at stop. They stay in the local storage too (GET .../logs reads
        them there); a failed upload is logged with where the archives are kept."""
        archives = self._storage.archives_of(record.experiment_id, record.simulation_id)
        try:
            await self._proxy.upload(record.experiment_id, archives, token)
        except NrpError as error:
            log.warning("simulation %d: archives not uploaded to the NRP proxy (%s); they are kept in %s",
                        record.simulation_id, error.message, ", ".join(str(path) for path in archives))

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
        if self._pool is not None:
            await self._pool.close()

    # -- for controls.py ----------------------------------------------------------------------------

    @property
    def publisher(self) -> StatusPublisher:
        return self._publisher

    def lock(self, simulation_id: int) -> asyncio.Lock:
        """The lock that serialises the transitions of one simulation."""
        return self._lock(simulation_id)

    def transition(self, record: Simulation, trigger: Trigger) -> None:
        self._transition(record, trigger)

    def run_of(self, simulation_id: int) -> _Run | None:
        return self._runs.get(simulation_id)

    def fail_later(self, simulation_id: int, reason: str) -> None:
        self._in_background(self._fail(simulation_id, reason))

    def steering_controls(self, record: Simulation) -> list[dict]:
        """The controls of the simulation's steering.json: its copy while it runs, else the experiment's."""
        folder = (pathlib.Path(record.simulation_dir) if record.simulation_dir
                  and pathlib.Path(record.simulation_dir).is_dir() else self._storage.resolve(record.experiment_id))
        config = pathlib.PurePosixPath(record.experiment_configuration).parent
        return steering_declarations.load(folder / config / steering_declarations.FILE_NAME,
                                          shown_as=f"{record.experiment_id}/{steering_declarations.FILE_NAME}")

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
        status = dict(record.last_status or dict.fromkeys(STATUS_TIMES, 0.0))
        status["state"] = record.state.value
        self._publisher.status(record.simulation_id, status)

    def _save(self, record: Simulation) -> None:
        self._registry.update(record)

    def _lock(self, simulation_id: int) -> asyncio.Lock:
        return self._locks.setdefault(simulation_id, asyncio.Lock())

    def _in_background(self, coroutine) -> None:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        task.add_done_callback(_log_failure)


def _payload(event) -> dict:
    """An event's fields as the server publishes them (NRP's payloads carry no "event" key)."""
    fields = event.to_json()
    del fields["event"]
    return fields


def _reason(record: Simulation, default: str) -> str:
    return (record.runtime_error or {}).get("msg") or default


def _log_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task failed", exc_info=task.exception())
