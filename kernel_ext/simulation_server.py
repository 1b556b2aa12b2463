"""`SimulationServer`: the simulation-server side of one simulation, inside its experiment kernel.

The server bootstraps it and sends commands as execute requests, as kernel_ext.protocol says
(`protocol.bootstrap_code`, `protocol.command_code`).

One thread owns the simulation, `NrpSimulationServer` (a kernel_ext.owner.Owner). It takes
commands (from the kernel's main thread) and notifications (from the threads below: the start-up's
progress and end, the script's end, a stop's steps) off one queue, in order, and is the only code
that changes the state and emits the protocol's events: Progress, Initialized, Status,
RuntimeErrorEvent, Completed, Failed, Stopped. Status ticks are the owner's too, and a tick also
notices an NRPCoreSim that died. At a transition the status event comes first, then the
transition's event; the final Stopped is the owner's last act, so nothing can follow it (the
server may end the kernel as soon as it reads a final event).

Work that blocks runs on threads that change nothing and report back through the queue, so every
command is answered at once:

    MainScriptThread   the main script (it blocks in nrp.run_loop)
    NrpInitThread      reading the config, checking the script, starting NRPCoreSim and the engines
    NrpStopThread      the steps of a stop: the script's end, NRPCoreSim's shutdown
    NrpFailThread      shutting NRPCoreSim down under a simulation that failed
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
import time
from collections.abc import Mapping

import engines.nrpcore_client

from . import events
from .breakage import core_death_message, infrastructure_failure
from .controls import Controls
from .core_launch import core_exit_code, core_pid, launch_core, read_config, shutdown_core
from .error_reports import ErrorType, RuntimeErrorReport
from .errors import IllegalCommand, NRPCoreSimExited, ScriptLoadError
from .lifecycle import Command, ServerState, check_command
from .loading_errors import loading_failure
from .owner import Owner
from .protocol import Completed, Event, Failed, Initialized, Progress, RuntimeErrorEvent, Status, Stopped
from .script_runner import MainScript, ScriptOutcome
from .settings import ServerSettings
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

class SimulationServer(Controls):
    """One simulation: NRPCoreSim through `nrp` (NrpCoreWrapper), the main script and its lifecycle.

    States are NRP's simulation-server states (kernel_ext.lifecycle.ServerState). A command that
    is not allowed in the current state raises IllegalCommand. Steering, reads, step and reset are
    kernel_ext.controls'.
    """

    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
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
        self._owner = Owner(OWNER_THREAD, tick=self._tick)
        self._owner.start()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> SimulationServer:
        """The simulation described by the KERNEL_NRP_* variables (docs/architecture.md)."""
        return cls(ServerSettings.from_environment(environ))

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> SimulationServer:
        """The simulation `variables` describe (protocol.bootstrap_code), in a kernel that may have
        been started before the simulation existed. They become the kernel's environment too: every
        process the simulation starts (NRPCoreSim, the engines, whatever the script runs) must carry
        the simulation directory, by which the server finds the processes that detached."""
        settings = ServerSettings.from_environment(variables)
        os.environ.update(variables)
        return cls(settings)

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
        on_command = functools.partial(self._on_command, command)
        self._owner.ask(on_command, if_ended=on_command)

    # -- the owner's handlers --------------------------------------------------------------------

    def _on_command(self, command: Command) -> None:
        if command is Command.STOP:
            return self._begin_stop()
        if self._stopping:
            raise IllegalCommand(command.value, self._state.value, "the simulation is being stopped")
        target = check_command(command, self._state)
        if command is Command.INITIALIZE:
            return self._begin_initialize()
        if self._resetting and target is not self._state:
            raise IllegalCommand(command.value, self._state.value, "the simulation is being reset")
        if target is self._state:
            return None
        if command is Command.RESUME and not self._script_started:
            raise IllegalCommand(command.value, self._state.value,
                                 "the main script has not been started; use start()")
        self._state = target
        if command is Command.PAUSE:
            self._nrp._pause()
        else:
            self._nrp._resume()
        if command is Command.START and not self._script_started:
            self._script_started = True
            self._script.start(self._nrp, functools.partial(self._on_script_done, self._nrp))
        self._emit_status()
        return None

    # -- initialisation --------------------------------------------------------------------------

    def _begin_initialize(self) -> None:
        if self._init_thread is not None:
            raise IllegalCommand(Command.INITIALIZE.value, self._state.value, "already initialising")
        # The script and the experiment's files use paths relative to the simulation directory,
        # and a kernel gateway may have started the kernel elsewhere.
        os.chdir(self.settings.simulation_dir)
        self._owner.start_ticks(self.settings.status_interval)
        self._init_thread = self._owner.spawn("NrpInitThread", self._start_up)

    def _start_up(self) -> None:
        """NrpInitThread: the slow part of initialisation; every outcome goes to the owner."""
        settings = self.settings
        try:
            self._owner.post(functools.partial(self._on_init_progress, 0))
            config = read_config(settings.config_path)
            self._owner.post(functools.partial(self._on_init_progress, 1))
            # Checked before anything is launched: a broken script is the commonest failure.
            self._script.check()
            if self._init_cancelled.is_set():
                return
            self._owner.post(functools.partial(self._on_init_progress, 2))
            core = launch_core(settings, config)
            nrp = NrpCoreWrapper(core, config)
            if not self._owner.ask(functools.partial(self._adopt, core, nrp), if_ended=lambda: False):
                shutdown_core(core, CORE_SHUTDOWN_S)
                return
            self._owner.post(functools.partial(self._on_init_progress, 3))
            nrp._initialize()
        except Exception as error:  # noqa: BLE001 -- every failure is classified (loading_errors) and told
            self._owner.post(functools.partial(self._on_init_ended, error))
        else:
            self._owner.post(functools.partial(self._on_init_ended, None))

    def _on_init_progress(self, index: int) -> None:
        if not self._stopping:  # once stop has come, its own progress tells the story
            self._init_task_open = True
            self._progress(INIT_TASK, INIT_SUBTASKS, index)

    def _adopt(self, core: engines.nrpcore_client.NrpCore, nrp: NrpCoreWrapper) -> bool:
        """Keep a freshly started NRPCoreSim; False if stop has already taken the simulation's."""
        if self._core_collected:
            return False
        self._core, self._nrp = core, nrp
        return True

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
        shutdown = self._owner.spawn("NrpFailThread", functools.partial(shutdown_core, core, CORE_SHUTDOWN_S),
                                     then=functools.partial(self._announce_failure, report, failed))
        self._shutdowns.append(shutdown)

    def _announce_failure(self, report: RuntimeErrorReport, failed: Failed) -> None:
        if self._stopping:
            log.info("simulation %s stopped before its failure was announced (%s)",
                     self.settings.simulation_id, report.msg)
            return
        self._state = ServerState.FAILED
        self._owner.stop_ticks()
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
                report = RuntimeErrorReport(msg=broken, error_type=ErrorType.RUNTIME,
                                            fileName=self._script.name)
            else:
                report = dataclasses.replace(report, msg=f"{report.msg}\n{broken}")
        self._owner.post(functools.partial(self._on_script_ended, report, broken is not None))

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
        if self._owner.ticking:
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
        """NRP's status payload (spec 1.5): every interval, and at each transition."""
        nrp = self._nrp
        if nrp is None:
            self._emit(Status(realTime=0.0, simulationTime=0.0, state=self._state.value,
                              simulationTimeLeft=0.0))
        else:
            self._emit(Status(realTime=nrp.real_time, simulationTime=nrp.simulation_time,
                              state=self._state.value, simulationTimeLeft=nrp.simulation_time_remaining))

    # -- stop: the owner starts each step on NrpStopThread, which hands the next one back ---------

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
            self._owner.spawn("NrpStopThread", functools.partial(start_up.join, INIT_GRACE_S),
                              then=self._stop_script)
        else:
            self._stop_script()

    def _stop_script(self) -> None:
        during_start_up = self._init_thread is not None and self._init_thread.is_alive()
        self._owner.spawn("NrpStopThread", functools.partial(_end_script, self._nrp, self._script),
                          then=functools.partial(self._stop_core, during_start_up))

    def _stop_core(self, during_start_up: bool) -> None:
        self._progress(SHUTDOWN_TASK, SHUTDOWN_SUBTASKS, 1)
        ending = ((self._init_thread,) if during_start_up else ()) + tuple(self._shutdowns)
        core = self._take_core()
        self._owner.spawn("NrpStopThread", functools.partial(_end_core, core, during_start_up, ending),
                          then=self._announce_stop)

    def _announce_stop(self) -> None:
        self._state = check_command(Command.STOP, self._state)
        self._owner.stop_ticks()
        self._close_init_task()  # a start-up cut short by stop
        self._emit(Progress(task=SHUTDOWN_TASK, done=True))
        self._emit_status()
        self._emit(Stopped())
        self._owner.end()

    # -- events ----------------------------------------------------------------------------------

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


# -- the blocking steps of a stop (NrpStopThread) ----------------------------------------------------

def _end_script(nrp: NrpCoreWrapper | None, script: MainScript) -> None:
    if nrp is not None and not nrp._stop_execution(SCRIPT_JOIN_S):
        log.warning("NRPCoreSim did not end the running loop within %.1f s", SCRIPT_JOIN_S)
    if not script.join(SCRIPT_JOIN_S):
        log.warning("the main script ignored stop for %.1f s; leaving it (a daemon thread) behind",
                    SCRIPT_JOIN_S)


def _end_core(core: engines.nrpcore_client.NrpCore | None, during_start_up: bool,
              ending: tuple[threading.Thread, ...]) -> None:
    if core is not None and during_start_up:
        shutdown_core(core, CORE_SHUTDOWN_DURING_INIT_S, terminate_grace=CORE_SHUTDOWN_DURING_INIT_S)
    elif core is not None:
        shutdown_core(core, CORE_SHUTDOWN_S)
    # NRPCoreSim may still be ending under a start-up or a failure: stopped means nothing runs.
    deadline = time.monotonic() + INIT_EXIT_S
    for thread in ending:
        thread.join(max(0.0, deadline - time.monotonic()))
        if thread.is_alive():
            log.warning("%s did not end within %.0f s after stop", thread.name, INIT_EXIT_S)
