"""`SimulationServer`: the simulation-server side of one simulation, inside its experiment kernel.

The server bootstraps it and sends commands as execute requests, as kernel_ext.protocol says
(`protocol.BOOTSTRAP`, `protocol.command_code`).

One thread owns the simulation, `NrpSimulationServer`. It takes commands (from the kernel's main
thread) and notifications (from the threads below) off one queue, in order, and is the only code
that changes the state and emits the protocol's events: Progress, Initialized, Status,
RuntimeErrorEvent, Completed, Failed, Stopped. Status events are its own too: it waits on the queue
no longer than the next tick. At a transition the status event comes first, then the transition's
event; the final Stopped is the owner's last act, so nothing can follow it (the server may end the
kernel as soon as it reads a final event).

Work that blocks runs on threads that change nothing and report back through the queue, so every
command is answered at once:

    MainScriptThread   the main script (it blocks in nrp.run_loop)
    NrpInitThread      reading the config, checking the script, starting NRPCoreSim and the engines
    NrpStopThread      the steps of a stop: the script's end, NRPCoreSim's shutdown
    NrpFailThread      shutting NRPCoreSim down under a simulation that failed
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import enum
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import engines.nrpcore_client

from . import events
from .breakage import core_death_message, infrastructure_failure
from .core_launch import core_exit_code, core_pid, launch_core, read_config, shutdown_core
from .error_reports import ErrorType, RuntimeErrorReport
from .errors import IllegalCommand, NRPCoreSimExited, ScriptLoadError
from .lifecycle import Command, ServerState, check_command
from .loading_errors import loading_failure
from .protocol import Completed, Event, Failed, Initialized, Progress, RuntimeErrorEvent, Status, Stopped
from .script_runner import MainScript, ScriptOutcome
from .settings import ServerSettings
from .status import status_fields
from .wrapper import NrpCoreWrapper

log = logging.getLogger(__name__)

OWNER_THREAD = "NrpSimulationServer"
INIT_TASK = "Initializing Simulation"
INIT_SUBTASKS = ("Reading the experiment configuration", "Checking the main script", "Starting NRPCoreSim",
                 "Initializing the engines")
SHUTDOWN_TASK = "Shutting down Simulation"
SHUTDOWN_SUBTASKS = ("Stopping the main script", "Shutting down NRPCoreSim")

#: How long stop waits for the script thread (a daemon, abandoned after that).
SCRIPT_JOIN_S = 5.0
#: How long the shutdown request may take before NRPCoreSim is terminated.
CORE_SHUTDOWN_S = 5.0
#: How long stop lets a start-up in progress finish before ending NRPCoreSim under it.
INIT_GRACE_S = 0.2
#: How long stop waits for the start-up thread to end once NRPCoreSim is ended: an NRPCoreSim that
#: was still starting when stop came is shut down by that thread (NrpCore waits up to 10 s for it).
INIT_EXIT_S = 15.0
#: NRPCoreSim serves one request at a time, so while the engines initialise a shutdown request
#: waits behind them: NRPCoreSim then gets this long before SIGTERM, and as long again before SIGKILL.
CORE_SHUTDOWN_DURING_INIT_S = 0.4
#: A caller waiting for the owner's answer checks this often whether the owner has ended (after stop).
ANSWER_WAIT_S = 0.1


# -- what the owner's queue carries -----------------------------------------------------------------

@dataclass(frozen=True)
class _Request:
    """A command from the kernel's main thread; `answer` gets its result or its IllegalCommand."""

    command: Command
    answer: concurrent.futures.Future = dataclasses.field(default_factory=concurrent.futures.Future)


@dataclass(frozen=True)
class _InitProgress:
    index: int


@dataclass(frozen=True)
class _CoreLaunched:
    """NRPCoreSim is up; `answer` says whether the simulation keeps it (False: stop was faster)."""

    core: engines.nrpcore_client.NrpCore
    nrp: NrpCoreWrapper
    answer: concurrent.futures.Future = dataclasses.field(default_factory=concurrent.futures.Future)


@dataclass(frozen=True)
class _InitEnded:
    error: Exception | None


@dataclass(frozen=True)
class _ScriptEnded:
    report: RuntimeErrorReport | None
    broken: bool


@dataclass(frozen=True)
class _CannotRun:
    """The simulation can no longer run and NRPCoreSim is shut down: announce it."""

    report: RuntimeErrorReport
    failed: Failed


class _StopStep(enum.Enum):
    SCRIPT = "stop the script"
    CORE = "shut NRPCoreSim down"
    DONE = "announce the stop"


@dataclass(frozen=True)
class _Stop:
    step: _StopStep
    during_start_up: bool = False


_TICK = object()


class SimulationServer:
    """One simulation: NRPCoreSim through `nrp` (NrpCoreWrapper), the main script and its lifecycle.

    States are NRP's simulation-server states (kernel_ext.lifecycle.ServerState). A command that
    is not allowed in the current state raises IllegalCommand.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        # Everything below is the owner thread's; other threads read it only once the owner has ended.
        self._state = ServerState.CREATED
        self._script = MainScript(settings.script_path, settings.simulation_id, settings.simulation_dir)
        self._core: engines.nrpcore_client.NrpCore | None = None
        self._core_collected = False  # set once the core is taken for shutdown; no later adoption
        self._nrp: NrpCoreWrapper | None = None
        self._init_thread: threading.Thread | None = None
        # Tells the start-up not to launch NRPCoreSim once stop has come (a signal, not state).
        self._init_cancelled = threading.Event()
        self._shutdowns: list[threading.Thread] = []
        self._stopping = False
        self._script_started = False
        self._core_death_handled = False
        self._init_task_open = False  # an "Initializing Simulation" progress awaits its `done`
        self._next_tick: float | None = None  # None: no status ticks (before initialize, once final)
        self._ended = False
        self._owner = threading.Thread(target=self._own, name=OWNER_THREAD, daemon=True)
        self._owner.start()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SimulationServer:
        """The simulation described by the KERNEL_NRP_* variables (docs/architecture.md)."""
        return cls(ServerSettings.from_environment(environ))

    @property
    def state(self) -> ServerState:
        return self._state

    @property
    def nrp(self) -> NrpCoreWrapper | None:
        """The script's `nrp` once NRPCoreSim is up (for a console attached to the kernel)."""
        return self._nrp

    # -- commands (the kernel's main thread) -----------------------------------------------------

    def initialize(self) -> None:
        """Start NRPCoreSim and the engines in the background; `initialized` or `failed` follows."""
        self._request(Command.INITIALIZE)

    def start(self) -> None:
        """Run the main script (or let a paused one continue)."""
        self._request(Command.START)

    def pause(self) -> None:
        """The script's next nrp.run_loop() blocks until resume()."""
        self._request(Command.PAUSE)

    def resume(self) -> None:
        """Let a paused script continue."""
        self._request(Command.RESUME)

    def stop(self) -> None:
        """Stop the script and shut NRPCoreSim down in the background; `stopped` follows.

        Allowed in every state, and repeating it changes nothing.
        """
        self._request(Command.STOP)

    def _request(self, command: Command) -> None:
        # Once the owner has ended the simulation is stopped for good: with `_stopping` set,
        # `_on_command` only refuses (or, for stop, does nothing), so it may run on this thread.
        self._ask(_Request(command), lambda: self._on_command(command))

    def _ask(self, message: _Request | _CoreLaunched, if_ended: Callable[[], Any]) -> Any:
        self._inbox.put(message)
        while True:
            concurrent.futures.wait([message.answer], ANSWER_WAIT_S)
            if message.answer.done():
                return message.answer.result()
            if not self._owner.is_alive() and not message.answer.done():
                return if_ended()

    # -- the owner -------------------------------------------------------------------------------

    def _own(self) -> None:
        while not self._ended:
            message = self._next_message()
            try:
                self._handle(message)
            except Exception:
                # A bug in one message's handling must not leave the simulation without its owner.
                log.exception("simulation %s: handling %r failed", self.settings.simulation_id, message)

    def _next_message(self) -> object:
        if self._next_tick is None:
            return self._inbox.get()
        wait = self._next_tick - time.monotonic()
        if wait > 0:
            try:
                return self._inbox.get(timeout=wait)
            except queue.Empty:
                pass
        # A fixed schedule (start + k * interval), so a slow tick does not shift later ones; ticks
        # missed entirely are skipped rather than sent in a burst.
        now = time.monotonic()
        self._next_tick += self.settings.status_interval
        if self._next_tick <= now:
            self._next_tick = now + self.settings.status_interval
        return _TICK

    def _handle(self, message: object) -> None:
        match message:
            case _Request(command, answer):
                if answer.set_running_or_notify_cancel():
                    try:
                        answer.set_result(self._on_command(command))
                    except Exception as error:
                        answer.set_exception(error)
            case _InitProgress(index):
                if not self._stopping:  # once stop has come, its own progress tells the story
                    self._init_task_open = True
                    self._progress(INIT_TASK, INIT_SUBTASKS, index)
            case _CoreLaunched(core, nrp, answer):
                adopted = not self._core_collected
                if adopted:
                    self._core, self._nrp = core, nrp
                answer.set_result(adopted)
            case _InitEnded(error):
                self._on_init_ended(error)
            case _ScriptEnded(report, broken):
                self._on_script_ended(report, broken)
            case _CannotRun(report, failed):
                self._announce_failure(report, failed)
            case _Stop(step, during_start_up):
                self._on_stop_step(step, during_start_up)
            case _ if message is _TICK:
                self._tick()
            case _:
                raise TypeError(f"not a message of the simulation server: {message!r}")

    def _on_command(self, command: Command) -> None:
        if command is Command.STOP:
            return self._begin_stop()
        if self._stopping:
            raise IllegalCommand(command.value, self._state.value, "the simulation is being stopped")
        target = check_command(command, self._state)
        if command is Command.INITIALIZE:
            return self._begin_initialize()
        if target is self._state:
            return None
        if command is Command.RESUME and not self._script_started:
            raise IllegalCommand(command.value, self._state.value, "the main script has not been started; use start()")
        self._state = target
        if command is Command.PAUSE:
            self._nrp._pause()
        else:
            self._nrp._resume()
        if command is Command.START and not self._script_started:
            self._script_started = True
            nrp = self._nrp
            self._script.start(nrp, lambda outcome: self._on_script_done(nrp, outcome))
        self._emit_status()
        return None

    # -- initialisation --------------------------------------------------------------------------

    def _begin_initialize(self) -> None:
        if self._init_thread is not None:
            raise IllegalCommand(Command.INITIALIZE.value, self._state.value, "already initialising")
        # The script and the experiment's files use paths relative to the simulation directory,
        # and a kernel gateway may have started the kernel elsewhere.
        os.chdir(self.settings.simulation_dir)
        self._next_tick = time.monotonic() + self.settings.status_interval
        self._init_thread = _spawn("NrpInitThread", self._start_up)

    def _start_up(self) -> None:
        """NrpInitThread: the slow part of initialisation; every outcome goes to the owner."""
        settings = self.settings
        try:
            self._post(_InitProgress(0))
            config = read_config(settings.config_path)
            self._post(_InitProgress(1))
            # Checked before anything is launched: a broken script is the commonest failure.
            self._script.check()
            if self._init_cancelled.is_set():
                return
            self._post(_InitProgress(2))
            core = launch_core(settings, config)
            nrp = NrpCoreWrapper(core, config)
            if not self._ask(_CoreLaunched(core, nrp), lambda: False):
                shutdown_core(core, CORE_SHUTDOWN_S)
                return
            self._post(_InitProgress(3))
            nrp._initialize()
        except Exception as error:
            self._post(_InitEnded(error))
        else:
            self._post(_InitEnded(None))

    def _on_init_ended(self, error: Exception | None) -> None:
        if error is None:
            if not self._stopping:
                self._state = ServerState.PAUSED
                self._close_init_task()
                self._emit_status()
                self._emit(Initialized(nrpcoresim_pid=core_pid(self._core)))
            return
        if not self._stopping and not isinstance(error, ScriptLoadError):
            log.error("initialisation of simulation %s failed", self.settings.simulation_id, exc_info=error)
        failure = loading_failure(error, script_name=self._script.name,
                                  config_name=self.settings.experiment_config,
                                  simulation_dir=str(self.settings.simulation_dir))
        self._fail(failure.report, Failed(**failure.failed_fields()))

    # -- failures ---------------------------------------------------------------------------------

    def _fail(self, report: RuntimeErrorReport, failed: Failed) -> None:
        """The simulation can no longer run: NRPCoreSim is shut down first, then the failure announced."""
        core = self._take_core()
        if core is None:
            self._announce_failure(report, failed)
            return
        self._shutdowns.append(_spawn("NrpFailThread", lambda: shutdown_core(core, CORE_SHUTDOWN_S),
                                      then=lambda: self._post(_CannotRun(report, failed))))

    def _announce_failure(self, report: RuntimeErrorReport, failed: Failed) -> None:
        if self._stopping:
            log.info("simulation %s stopped before its failure was announced (%s)", self.settings.simulation_id,
                     report.msg)
            return
        self._state = ServerState.FAILED
        self._next_tick = None
        self._close_init_task()
        self._emit_status()
        self._emit(RuntimeErrorEvent(**report.event_fields()))
        self._emit(failed)

    def _take_core(self) -> engines.nrpcore_client.NrpCore | None:
        """Take the NrpCore for shutting it down: taken once, and a late start-up's is refused."""
        core, self._core = self._core, None
        self._core_collected = True
        return core

    # -- the script's end ------------------------------------------------------------------------

    def _on_script_done(self, nrp: NrpCoreWrapper, outcome: ScriptOutcome) -> None:
        """MainScriptThread, at the script's end. What broke under the script is looked into here,
        not by the owner: it may wait a moment for a dead NRPCoreSim to be reaped."""
        if nrp.stop_requested:
            return
        broken = infrastructure_failure(nrp.core, outcome.error)
        report = outcome.report
        # NRPCoreSimExited already carries the account of NRPCoreSim's death.
        if broken is not None and not isinstance(outcome.error, NRPCoreSimExited):
            if report is None:
                report = RuntimeErrorReport(msg=broken, error_type=ErrorType.RUNTIME, fileName=self._script.name)
            else:
                report = dataclasses.replace(report, msg=f"{report.msg}\n{broken}")
        self._post(_ScriptEnded(report, broken is not None))

    def _on_script_ended(self, report: RuntimeErrorReport | None, broken: bool) -> None:
        if self._stopping:
            return
        # The last status first: whoever reads the error then also has the time it happened at.
        self._state = ServerState.COMPLETED
        self._emit_status()
        if report is not None:
            self._emit(RuntimeErrorEvent(**report.event_fields()))
        self._emit(Completed(failed=broken))

    # -- status ----------------------------------------------------------------------------------

    def _tick(self) -> None:
        core = self._core
        if (self._state in (ServerState.PAUSED, ServerState.STARTED) and not self._stopping
                and core is not None and not self._core_death_handled and core_exit_code(core) is not None):
            self._on_core_died(core)
        if self._next_tick is not None:
            self._emit_status()

    def _on_core_died(self, core: engines.nrpcore_client.NrpCore) -> None:
        """NRPCoreSim is gone while nothing was talking to it (a paused simulation)."""
        message = core_death_message(core, core_exit_code(core))
        self._core_death_handled = True
        if self._script_started:
            # The script reports it when its next run_loop() raises, even if paused now.
            self._nrp._break(NRPCoreSimExited(message))
            return
        log.error("simulation %s: %s", self.settings.simulation_id, message)
        report = RuntimeErrorReport(msg=message, error_type=ErrorType.RUNTIME, fileName=self._script.name)
        self._fail(report, Failed(reason=message))

    def _emit_status(self) -> None:
        nrp = self._nrp
        if nrp is None:
            fields = status_fields(self._state.value, 0.0, 0.0, 0.0)
        else:
            fields = status_fields(self._state.value, nrp.real_time, nrp.simulation_time,
                                   nrp.simulation_time_remaining)
        self._emit(Status(**fields))

    # -- stop ------------------------------------------------------------------------------------

    def _begin_stop(self) -> None:
        if self._stopping:
            return
        check_command(Command.STOP, self._state)
        self._stopping = True
        self._init_cancelled.set()
        self._progress(SHUTDOWN_TASK, SHUTDOWN_SUBTASKS, 0)
        start_up = self._init_thread
        if start_up is not None and start_up.is_alive():
            # A start-up about to end is let end: NRPCoreSim then shuts down cleanly.
            self._stop_in_background(lambda: start_up.join(INIT_GRACE_S), _Stop(_StopStep.SCRIPT))
        else:
            self._on_stop_step(_StopStep.SCRIPT, False)

    def _on_stop_step(self, step: _StopStep, during_start_up: bool) -> None:
        match step:
            case _StopStep.SCRIPT:
                during_start_up = self._init_thread is not None and self._init_thread.is_alive()
                nrp, script = self._nrp, self._script
                self._stop_in_background(lambda: _stop_script(nrp, script),
                                         _Stop(_StopStep.CORE, during_start_up))
            case _StopStep.CORE:
                self._progress(SHUTDOWN_TASK, SHUTDOWN_SUBTASKS, 1)
                core, start_up, shutdowns = self._take_core(), self._init_thread, tuple(self._shutdowns)
                self._stop_in_background(lambda: _shut_down(core, during_start_up, start_up, shutdowns),
                                         _Stop(_StopStep.DONE))
            case _StopStep.DONE:
                self._state = check_command(Command.STOP, self._state)
                self._next_tick = None
                self._close_init_task()  # a start-up cut short by stop
                self._emit(Progress(task=SHUTDOWN_TASK, done=True))
                self._emit_status()
                self._emit(Stopped())
                self._ended = True

    def _stop_in_background(self, work: Callable[[], None], then: _Stop) -> None:
        _spawn("NrpStopThread", work, then=lambda: self._post(then))

    # -- events ----------------------------------------------------------------------------------

    def _post(self, message: object) -> None:
        self._inbox.put(message)

    def _close_init_task(self) -> None:
        if self._init_task_open:
            self._init_task_open = False
            self._emit(Progress(task=INIT_TASK, done=True))

    def _progress(self, task: str, subtasks: tuple[str, ...], index: int) -> None:
        self._emit(Progress(task=task, subtask=subtasks[index], number_of_subtasks=len(subtasks),
                            subtask_index=index, block_ui=True))

    def _emit(self, event: Event) -> None:
        try:
            events.emit(event)
        except Exception:
            # A lost event must not take the owner down with it.
            log.exception("cannot emit the %s event", event.NAME)


# -- blocking work, off the owner thread ------------------------------------------------------------

def _spawn(name: str, work: Callable[[], None], then: Callable[[], None] | None = None) -> threading.Thread:
    """Run `work` on a daemon thread, then `then` (which tells the owner) whatever `work` did."""
    def run() -> None:
        try:
            work()
        except Exception:
            log.exception("%s failed", name)
        if then is not None:
            then()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def _stop_script(nrp: NrpCoreWrapper | None, script: MainScript) -> None:
    if nrp is not None and not nrp._stop_execution(SCRIPT_JOIN_S):
        log.warning("NRPCoreSim did not end the running loop within %.1f s", SCRIPT_JOIN_S)
    if not script.join(SCRIPT_JOIN_S):
        log.warning("the main script ignored stop for %.1f s; leaving it (a daemon thread) behind", SCRIPT_JOIN_S)


def _shut_down(core: engines.nrpcore_client.NrpCore | None, during_start_up: bool,
               start_up: threading.Thread | None, shutdowns: tuple[threading.Thread, ...]) -> None:
    if core is not None and during_start_up:
        shutdown_core(core, CORE_SHUTDOWN_DURING_INIT_S, terminate_grace=CORE_SHUTDOWN_DURING_INIT_S)
    elif core is not None:
        shutdown_core(core, CORE_SHUTDOWN_S)
    # NRPCoreSim may still be ending under a start-up or a failure: stopped means nothing runs.
    deadline = time.monotonic() + INIT_EXIT_S
    for thread in ((start_up,) if during_start_up else ()) + shutdowns:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("%s did not end within %.0f s after stop", thread.name, INIT_EXIT_S)
