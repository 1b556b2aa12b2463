"""`SimulationServer`: the simulation-server side of one simulation, inside its experiment kernel.

The server bootstraps it and sends commands as execute requests, as kernel_ext.protocol says
(`protocol.BOOTSTRAP`, `protocol.command_code`).

Every command returns at once; slow work (starting NRPCoreSim and the engines, the main script,
shutting down) runs on threads of its own, so the kernel's main thread stays free for the next
command. Outcomes are reported as the protocol's events: Progress, Initialized, Status,
RuntimeErrorEvent, Completed, Failed, Stopped. At a transition the status event comes first, then the
transition's event: the server may end the kernel as soon as it reads a final one.

Threads: NrpInitThread (initialisation), MainScriptThread (the script), NrpStatusThread (status
every interval), NrpStopThread (stop). `_lock` orders state changes and the events that announce
them, so that no status follows a final event.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
from collections.abc import Mapping

import engines.nrpcore_client

from . import events
from .breakage import core_death_message, infrastructure_failure
from .core_launch import core_exit_code, core_pid, launch_core, read_config, shutdown_core
from .error_reports import ErrorType, RuntimeErrorReport
from .errors import IllegalCommand, NRPCoreSimExited, ScriptLoadError
from .lifecycle import Command, ServerState, check_command
from .loading_errors import LoadingFailure, loading_failure
from .protocol import Completed, Event, Failed, Initialized, Progress, RuntimeErrorEvent, Status, Stopped
from .script_runner import MainScript, ScriptOutcome
from .settings import ServerSettings
from .status import StatusTicker, status_fields
from .wrapper import NrpCoreWrapper

log = logging.getLogger(__name__)

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


class SimulationServer:
    """One simulation: NRPCoreSim through `nrp` (NrpCoreWrapper), the main script and its lifecycle.

    States are NRP's simulation-server states (kernel_ext.lifecycle.ServerState). A command that
    is not allowed in the current state raises IllegalCommand.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._state = ServerState.CREATED
        self._script = MainScript(settings.script_path, settings.simulation_id, settings.simulation_dir)
        self._ticker = StatusTicker(settings.status_interval, self._tick)
        self._core: engines.nrpcore_client.NrpCore | None = None
        self._core_collected = False  # set once the core is taken for shutdown; no later adoption
        self._nrp: NrpCoreWrapper | None = None
        self._init_thread: threading.Thread | None = None
        self._stop_thread: threading.Thread | None = None
        self._stop_requested = False
        self._script_started = False
        self._core_death_handled = False
        self._init_task_open = False  # an "Initializing Simulation" progress awaits its `done`
        self._finished = threading.Event()

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

    def wait_finished(self, timeout: float | None = None) -> bool:
        """Wait until stopped or failed (nothing left running); False on timeout."""
        return self._finished.wait(timeout)

    # -- commands --------------------------------------------------------------------------------

    def initialize(self) -> None:
        """Start NRPCoreSim and the engines in the background; `initialized` or `failed` follows."""
        with self._lock:
            check_command(Command.INITIALIZE, self._state)
            if self._init_thread is not None:
                raise IllegalCommand(Command.INITIALIZE.value, self._state.value, "already initialising")
            # The script and the experiment's files use paths relative to the simulation directory,
            # and a kernel gateway may have started the kernel elsewhere.
            os.chdir(self.settings.simulation_dir)
            self._init_thread = threading.Thread(target=self._initialize_in_background, name="NrpInitThread",
                                                 daemon=True)
            self._ticker.start()
            self._init_thread.start()

    def start(self) -> None:
        """Run the main script (or let a paused one continue)."""
        with self._lock:
            self._refuse_while_stopping(Command.START)
            target = check_command(Command.START, self._state)
            if target is self._state:
                return
            self._state = target
            self._nrp._resume()
            if not self._script_started:
                self._script_started = True
                self._script.start(self._nrp, self._on_script_done)
            self._emit_status()

    def pause(self) -> None:
        """The script's next nrp.run_loop() blocks until resume()."""
        with self._lock:
            self._refuse_while_stopping(Command.PAUSE)
            target = check_command(Command.PAUSE, self._state)
            if target is self._state:
                return
            self._state = target
            self._nrp._pause()
            self._emit_status()

    def resume(self) -> None:
        """Let a paused script continue."""
        with self._lock:
            self._refuse_while_stopping(Command.RESUME)
            target = check_command(Command.RESUME, self._state)
            if target is self._state:
                return
            if not self._script_started:
                raise IllegalCommand(Command.RESUME.value, self._state.value,
                                     "the main script has not been started; use start()")
            self._state = target
            self._nrp._resume()
            self._emit_status()

    def stop(self) -> None:
        """Stop the script and shut NRPCoreSim down in the background; `stopped` follows.

        Allowed in every state, and repeating it changes nothing.
        """
        with self._lock:
            if self._stop_requested:
                return
            check_command(Command.STOP, self._state)
            self._stop_requested = True
            self._stop_thread = threading.Thread(target=self._stop_in_background, name="NrpStopThread",
                                                 daemon=True)
            self._stop_thread.start()

    def _refuse_while_stopping(self, command: Command) -> None:
        if self._stop_requested:
            raise IllegalCommand(command.value, self._state.value, "the simulation is being stopped")

    # -- initialisation --------------------------------------------------------------------------

    def _initialize_in_background(self) -> None:
        settings = self.settings
        try:
            self._init_progress(0)
            config = read_config(settings.config_path)
            self._init_progress(1)
            # Checked before anything is launched: a broken script is the commonest failure.
            self._script.check()
            if self._stop_requested:
                return
            self._init_progress(2)
            core = launch_core(settings, config)
            if not self._adopt_core(core):
                shutdown_core(core, CORE_SHUTDOWN_S)
                return
            nrp = NrpCoreWrapper(core, config)
            with self._lock:
                self._nrp = nrp
            self._init_progress(3)
            nrp._initialize()
        except Exception as err:
            if not self._stop_requested and not isinstance(err, ScriptLoadError):
                log.exception("initialisation of simulation %s failed", settings.simulation_id)
            self._fail_initialization(loading_failure(err, script_name=self._script.name,
                                                      config_name=settings.experiment_config,
                                                      simulation_dir=str(settings.simulation_dir)))
        else:
            with self._lock:
                if self._stop_requested:
                    return
                self._state = ServerState.PAUSED
                self._close_init_task()
                self._emit_status()
                self._emit(Initialized(nrpcoresim_pid=core_pid(core)))

    def _fail_initialization(self, failure: LoadingFailure) -> None:
        core = self._take_core()
        if core is not None:
            shutdown_core(core, CORE_SHUTDOWN_S)
        self._finish_failed(failure)

    def _finish_failed(self, failure: LoadingFailure) -> None:
        """Announce a simulation that can no longer run (NRPCoreSim is already shut down)."""
        report = failure.report
        with self._lock:
            if self._stop_requested:
                log.info("simulation %s stopped during start-up (%s)", self.settings.simulation_id,
                         report.msg)
                return
            self._state = ServerState.FAILED
            self._ticker.stop()
            self._close_init_task()
            self._emit_status()
            self._emit(RuntimeErrorEvent(**report.event_fields()))
            self._emit(Failed(**failure.failed_fields()))
        self._finished.set()

    def _init_thread_done(self, timeout: float) -> bool:
        self._init_thread.join(timeout)
        return not self._init_thread.is_alive()

    def _adopt_core(self, core: engines.nrpcore_client.NrpCore) -> bool:
        """Keep a freshly started NrpCore; False if stop has already collected the resources."""
        with self._lock:
            if self._core_collected:
                return False
            self._core = core
            return True

    def _take_core(self) -> engines.nrpcore_client.NrpCore | None:
        """Take the NrpCore for shutting it down: one caller gets it, later adoption is refused."""
        with self._lock:
            core, self._core = self._core, None
            self._core_collected = True
            return core

    # -- the script's end ------------------------------------------------------------------------

    def _on_script_done(self, outcome: ScriptOutcome) -> None:
        if self._stop_requested:
            return
        core = self._core
        broken = infrastructure_failure(core, outcome.error) if core is not None else None
        report = outcome.report
        # NRPCoreSimExited already carries the account of NRPCoreSim's death.
        if broken is not None and not isinstance(outcome.error, NRPCoreSimExited):
            if report is None:
                report = RuntimeErrorReport(msg=broken, error_type=ErrorType.RUNTIME,
                                            fileName=self._script.name)
            else:
                report = dataclasses.replace(report, msg=f"{report.msg}\n{broken}")
        with self._lock:
            if self._stop_requested:
                return
            # The last status first: whoever reads the error then also has the time it happened at.
            self._state = ServerState.COMPLETED
            self._emit_status()
            if report is not None:
                self._emit(RuntimeErrorEvent(**report.event_fields()))
            self._emit(Completed(failed=broken is not None))

    # -- status ----------------------------------------------------------------------------------

    def _tick(self) -> None:
        with self._lock:
            if self._ticker.stopped:
                return
            core = self._core
            watch = (self._state in (ServerState.PAUSED, ServerState.STARTED) and not self._stop_requested
                     and core is not None and not self._core_death_handled)
        if watch and core_exit_code(core) is not None:
            self._on_core_died(core)
        with self._lock:
            if not self._ticker.stopped:
                self._emit_status()

    def _on_core_died(self, core: engines.nrpcore_client.NrpCore) -> None:
        """NRPCoreSim is gone while nothing was talking to it (a paused simulation)."""
        message = core_death_message(core, core_exit_code(core))
        with self._lock:
            if self._core_death_handled or self._stop_requested:
                return
            self._core_death_handled = True
            if self._script_started:
                # The script reports it when its next run_loop() raises, even if paused now.
                self._nrp._break(NRPCoreSimExited(message))
                return
        log.error("simulation %s: %s", self.settings.simulation_id, message)
        taken = self._take_core()
        if taken is not None:
            shutdown_core(taken, CORE_SHUTDOWN_S)
        report = RuntimeErrorReport(msg=message, error_type=ErrorType.RUNTIME, fileName=self._script.name)
        with self._lock:
            if self._stop_requested:
                return
            self._state = ServerState.FAILED
            self._ticker.stop()
            self._emit_status()
            self._emit(RuntimeErrorEvent(**report.event_fields()))
            self._emit(Failed(reason=message))
        self._finished.set()

    def _emit_status(self) -> None:
        nrp = self._nrp
        if nrp is None:
            fields = status_fields(self._state.value, 0.0, 0.0, 0.0)
        else:
            fields = status_fields(self._state.value, nrp.real_time, nrp.simulation_time,
                                   nrp.simulation_time_remaining)
        self._emit(Status(**fields))

    # -- stop ------------------------------------------------------------------------------------

    def _stop_in_background(self) -> None:
        try:
            self._progress(SHUTDOWN_TASK, SHUTDOWN_SUBTASKS, 0)
            initializing = self._init_thread is not None and self._init_thread.is_alive()
            if initializing:
                self._init_thread.join(INIT_GRACE_S)
                initializing = self._init_thread.is_alive()
            nrp = self._nrp
            if nrp is not None and not nrp._stop_execution(SCRIPT_JOIN_S):
                log.warning("NRPCoreSim did not end the running loop within %.1f s", SCRIPT_JOIN_S)
            if not self._script.join(SCRIPT_JOIN_S):
                log.warning("the main script ignored stop for %.1f s; leaving it (a daemon thread) behind",
                            SCRIPT_JOIN_S)
            self._progress(SHUTDOWN_TASK, SHUTDOWN_SUBTASKS, 1)
            core = self._take_core()
            if core is not None and initializing:
                shutdown_core(core, CORE_SHUTDOWN_DURING_INIT_S, terminate_grace=CORE_SHUTDOWN_DURING_INIT_S)
            elif core is not None:
                shutdown_core(core, CORE_SHUTDOWN_S)
            if initializing and not self._init_thread_done(INIT_EXIT_S):
                log.warning("the start-up of simulation %s did not end within %.0f s after stop",
                            self.settings.simulation_id, INIT_EXIT_S)
        except Exception:
            log.exception("stopping simulation %s failed", self.settings.simulation_id)
        finally:
            with self._lock:
                self._state = check_command(Command.STOP, self._state)
                self._ticker.stop()
                self._close_init_task()  # a start-up cut short by stop
                self._emit(Progress(task=SHUTDOWN_TASK, done=True))
                self._emit_status()
                self._emit(Stopped())
            self._finished.set()

    # -- events ----------------------------------------------------------------------------------

    def _init_progress(self, index: int) -> None:
        with self._lock:
            # Once stop is requested the stop thread reports progress, and closes this task.
            if self._stop_requested:
                return
            self._init_task_open = True
            self._progress(INIT_TASK, INIT_SUBTASKS, index)

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
            # A lost event must not take the lifecycle thread that sends it down with it.
            log.exception("cannot emit the %s event", event.NAME)

