"""The orchestrator's view of one engine, whatever its protocol.

Each engine gets a worker thread of its own. The loop hands it one *step task* per sync: send the
TF outputs, run the step, then fetch the datapacks the functions will read at the next sync. An
engine is not touched between a step and its next sync, so fetching right after the step gives
the same datapacks nrp-core fetches at the sync, and saves the loop one round trip on its
critical path.
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import threading
import time
from abc import ABC, abstractmethod

from engines import engine_wire as wire
from engines.datapacks import DataPack, DataPackIdentifier
from engines.errors import EngineCrashed, EngineError, EngineLaunchError, EngineTimeout
from engines.nrpcoresim.launchers import Launcher, split_command
from engines.nrpcoresim.protocols.registration import RegistrationServer

log = logging.getLogger(__name__)

# nrp-core waits 20 × 1 s for an engine to register.
LAUNCH_TIMEOUT_S = 20.0
# How long an engine started elsewhere (EmptyLaunchCommand) gets to accept connections at its
# ServerAddress: as long as nrp-core's gRPC client waits for its channel, unless the environment
# says otherwise (docs/deployment.md).
REMOTE_CONNECT_TIMEOUT_S = 20.0
REMOTE_CONNECT_TIMEOUT_VARIABLE = "NRP_ENGINE_CONNECT_TIMEOUT"
# How long a broken connection waits for the engine's process to end, to report its exit status.
CRASH_GRACE_S = 0.5


def remote_connect_timeout_s() -> float:
    """REMOTE_CONNECT_TIMEOUT_S, or the positive number of seconds $NRP_ENGINE_CONNECT_TIMEOUT gives."""
    value = os.environ.get(REMOTE_CONNECT_TIMEOUT_VARIABLE, "")
    if not value:
        return REMOTE_CONNECT_TIMEOUT_S
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ValueError(f"${REMOTE_CONNECT_TIMEOUT_VARIABLE} must be a positive number of seconds, not {value!r}")
    return seconds


class EngineClient(ABC):
    """One engine: its process (through a launcher) and its protocol."""

    protocol = ""

    def __init__(self, config: dict, launcher: Launcher, registration: RegistrationServer | None):
        self.config = config
        self.name: str = config["EngineName"]
        self.timestep_ns = int(round(float(config.get("EngineTimestep", 0.01)) * 1e9))
        timeout = float(config.get("EngineCommandTimeout", 0.0))
        # ≤0 means "wait for ever", as in nrp-core; a positive value gets a floor of 1 ms.
        self.command_timeout_s: float | None = max(timeout, 0.001) if timeout > 0 else None
        self.launcher = launcher
        self.registration = registration
        self.address: str = config.get("ServerAddress", "")
        # Whether the launched engine tells the registration server where it listens; set at launch.
        self.registers = False
        # Set by `note_capabilities` when the engine serves the one-round-trip step extension.
        self.combined_step = False
        self.unresponsive = False
        self._connected = False
        # Set when the simulation is torn down, so that a launch still waiting for the engine gives up.
        self._abandoned = threading.Event()
        self._worker = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix=f"engine-{self.name}")

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, output, cwd=None) -> None:
        """Starts the engine's process in `cwd`, unless it is launched elsewhere."""
        if self.launcher.launches_process:
            self.launcher.start(self._command(), list(self.config.get("EngineEnvParams", [])), output, cwd)

    @property
    def started_elsewhere(self) -> bool:
        """True for an engine the simulation neither starts nor stops (EmptyLaunchCommand)."""
        return not self.launcher.launches_process

    def await_ready(self) -> None:
        """Waits for the engine to register (when launched here and registering) or to listen at
        its ServerAddress (when started elsewhere), then connects to it."""
        if self.started_elsewhere:
            try:
                timeout_s = remote_connect_timeout_s()
            except ValueError as error:
                raise EngineLaunchError(self.name, str(error)) from None
            self.launcher.wait_listening(timeout_s, hint=self.start_command_hint(),
                                         abandon=self._abandoned)
        elif self.registers:
            address = self.registration.wait_for(self.name, LAUNCH_TIMEOUT_S,
                                                 lambda: self.launcher.exit_code() is None)
            if address is None:
                code = self.launcher.exit_code()
                why = (f"its process exited with status {code} before registering" if code is not None
                       else f"it did not register within {LAUNCH_TIMEOUT_S:.0f} s")
                raise EngineLaunchError(self.name, f"could not be launched: {why}")
            self.address = address
        self.connect(LAUNCH_TIMEOUT_S)
        self._connected = True

    def start_command_hint(self) -> str:
        """The command that starts this engine by hand at its ServerAddress, for error messages."""
        program = split_command(self.config.get("EngineProcCmd", "")) or ["<EngineProcCmd>"]
        address = self.config.get("ServerAddress", "")
        return " ".join([*program, wire.LaunchOption.ENGINE.argument(self.name),
                         wire.LaunchOption.SERVER_URL.argument(address)])

    def _command(self) -> list[str]:
        """`EngineProcCmd EngineProcStartParams...` and the arguments nrp-core appends for this
        engine type (see protocols/engine_arguments.py)."""
        command = split_command(self.config.get("EngineProcCmd", ""))
        if not command:
            raise EngineLaunchError(self.name, "EngineProcCmd is empty")
        self.registers = self._registers(command)
        command += [str(param) for param in self.config.get("EngineProcStartParams", [])]
        return command + self._launch_arguments()

    @abstractmethod
    def _registers(self, command: list[str]) -> bool:
        """Whether the engine `command` starts will register its address."""

    @abstractmethod
    def _launch_arguments(self) -> list[str]:
        """What nrp-core's client of this engine type appends to the engine's command line."""

    def initialize_config(self) -> dict:
        """What an engine's initialize request carries: its config and the time unit (ns)."""
        return {**self.config, wire.TIME_RATIO_KEY: wire.TIME_RATIO}

    @abstractmethod
    def connect(self, timeout_s: float) -> None:
        """Opens the connection to the engine at `self.address`."""

    @abstractmethod
    def initialize(self) -> None: ...

    @abstractmethod
    def reset(self) -> None: ...

    @abstractmethod
    def shutdown(self) -> None:
        """Asks the engine to shut down (the process is stopped afterwards by `stop_process`)."""

    @abstractmethod
    def close(self) -> None:
        """Closes connections; never raises."""

    # -- data and steps ------------------------------------------------------------------------

    @abstractmethod
    def run_loop_step(self, time_step_ns: int) -> int:
        """Advances the engine by `time_step_ns`; returns the engine's time in ns."""

    @abstractmethod
    def get_datapacks(self, identifiers: list[DataPackIdentifier]) -> list[DataPack]: ...

    @abstractmethod
    def set_datapacks(self, datapacks: list[DataPack]) -> None: ...

    @abstractmethod
    def check_outgoing(self, datapacks: list[DataPack]) -> None:
        """Raises EngineError for a datapack this engine cannot take, before anything is sent."""

    def submit(self, function, *args) -> concurrent.futures.Future:
        """Runs `function(*args)` on this engine's worker thread, after what was submitted before."""
        return self._worker.submit(self._guarded, function, *args)

    def run_here(self, function, *args) -> concurrent.futures.Future:
        """Runs `function(*args)` on the calling thread, as `submit` would on the worker. Only for
        a caller that knows the worker is idle (the loop, for the engine it waits for next)."""
        future: concurrent.futures.Future = concurrent.futures.Future()
        try:
            future.set_result(self._guarded(function, *args))
        except Exception as error:  # noqa: BLE001 (delivered through the future, as from the worker)
            future.set_exception(error)
        return future

    def step_task(self, datapacks: list[DataPack], time_step_ns: int,
                  prefetch: list[DataPackIdentifier]) -> tuple[int, list[DataPack]]:
        """Sends `datapacks`, steps, and fetches `prefetch` (see the module docstring)."""
        if self.combined_step:
            engine_time, fetched = self.step(datapacks, time_step_ns, prefetch)
        else:
            if datapacks:
                self.set_datapacks(datapacks)
            engine_time = self.run_loop_step(time_step_ns)
            fetched = self.get_datapacks(prefetch) if prefetch else []
        if engine_time < 0:
            raise EngineError(self.name, f"returned a negative engine time ({engine_time} ns)")
        return engine_time, fetched

    def note_capabilities(self, initialize_reply) -> None:
        """Engines of this project announce extensions in their initialize reply; others don't."""
        if isinstance(initialize_reply, dict):
            self.combined_step = wire.STEP_CAPABILITY in initialize_reply.get(wire.CAPABILITIES, [])

    def step(self, datapacks: list[DataPack], time_step_ns: int,
             prefetch: list[DataPackIdentifier]) -> tuple[int, list[DataPack]]:
        """Set, step and get in one round trip, for engines that announced the `step` capability."""
        raise NotImplementedError

    def _guarded(self, function, *args):
        try:
            return function(*args)
        except EngineError:
            raise
        except Exception as error:  # noqa: BLE001 (protocol failures are re-raised as engine errors)
            raise self._translate(error) from error

    def _translate(self, error: Exception) -> EngineError:
        """Maps a transport failure to the engine error tree; subclasses refine it."""
        return self.crashed(CRASH_GRACE_S) or EngineError(self.name, f"{type(error).__name__}: {error}")

    def crashed(self, wait_s: float = 0.0) -> EngineCrashed | None:
        """The error to report if the engine's process has ended; `wait_s` gives a process whose
        connection just broke the time to finish dying, so the report can say how it ended.

        An engine started elsewhere has no process here: once connected, it counts as crashed when
        its address stops accepting connections.
        """
        if self.started_elsewhere:
            why = self._remote_gone(wait_s) if self._connected else None
            if why is None:
                return None
            return EngineCrashed(self.name, f"the engine at {self.address}, started outside the simulation "
                                            f"(EmptyLaunchCommand), no longer answers: {why}")
        code = self.launcher.wait(wait_s) if wait_s > 0 else self.launcher.exit_code()
        return EngineCrashed(self.name, f"its process exited with status {code}") if code is not None else None

    def abandon_launch(self) -> None:
        """Makes a wait for an engine started elsewhere end now, rather than at its timeout."""
        self._abandoned.set()

    def _remote_gone(self, wait_s: float) -> str | None:
        # A process that is being killed drops its connections before its listening socket, so
        # right after a connection broke the address may still accept for a moment.
        deadline = time.monotonic() + wait_s
        while True:
            why = self.launcher.unreachable()
            if why is not None or time.monotonic() >= deadline:
                return why
            time.sleep(0.05)

    def stop_process(self, grace_s: float) -> None:
        self.close()
        self.launcher.stop(grace_s)
        self._worker.shutdown(wait=False, cancel_futures=True)

    def timeout_error(self) -> EngineTimeout:
        # An engine that missed its deadline is still busy; shutting it down must not wait for it.
        self.unresponsive = True
        return EngineTimeout(self.name, f"loop is taking too long to complete (EngineCommandTimeout "
                                        f"{self.command_timeout_s} s exceeded)")
