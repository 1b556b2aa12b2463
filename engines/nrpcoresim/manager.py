"""The simulation manager: builds a simulation from its config and serves nrp-core's requests.

Requests arrive one at a time (the server queues them), except `stop`, which may come from any
thread while a run request executes. Any exception during an action moves the simulation to
`Failed`, from which only `shutdown` is possible; the error message names the engine, function,
file or key at fault.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import pathlib
import threading
import time

from engines.datapacks import DataPack
from engines.engine_progress import LAUNCH, tracked
from engines.errors import ConfigError
from engines.nrpcoresim import function_api
from engines.nrpcoresim.config import argument_passing_policy
from engines.nrpcoresim.engine_client import EngineClient
from engines.nrpcoresim.functions import FunctionEntry, load_functions
from engines.nrpcoresim.in_process.clients import make_in_process_client
from engines.nrpcoresim.launchers import InProcess, make_launcher
from engines.nrpcoresim.lifecycle import Request, SimulationState, check_allowed
from engines.nrpcoresim.loop import FTILoop
from engines.nrpcoresim.processor import DataPackProcessor
from engines.nrpcoresim.steering import SteeringDesk, SteeringRefused
from engines.nrpcoresim.protocols.engine_types import make_engine_client
from engines.nrpcoresim.protocols.registration import RegistrationServer

log = logging.getLogger(__name__)

# How long engines get to answer a shutdown request, then to exit after SIGTERM.
SHUTDOWN_REQUEST_TIMEOUT_S = 5.0
PROCESS_GRACE_S = 2.0
EXIT_AFTER_SHUTDOWN_S = 0.5
# An engine that missed its command deadline is stuck in user code: it gets no shutdown request
# and only a short grace before SIGKILL.
HUNG_ENGINE_GRACE_S = 0.2


class SimulationManager:
    def __init__(self, config: dict, *, base_dir: pathlib.Path, engine_output=None):
        self.config = config
        self.base_dir = base_dir
        self.engine_output = engine_output
        self.state = SimulationState.CREATED
        self.error = ""
        self._stop = threading.Event()
        self._engines: list[EngineClient] = []
        self._registration: RegistrationServer | None = None
        self._loop: FTILoop | None = None
        self.steering = SteeringDesk()

    # -- requests ------------------------------------------------------------------------------

    def initialize(self) -> list:
        check_allowed(Request.INITIALIZE, self.state)
        with self._failing_on_error():
            trajectory = self._build().initialize()
            self.state = SimulationState.INITIALIZED
            return trajectory

    def run_loop(self, iterations: int, datapacks: list[DataPack] = ()) -> tuple[bool, list]:
        """Runs `iterations` loop steps (fewer if the status function says done or stop is
        requested); returns (done, trajectory), the trajectory only when done."""
        check_allowed(Request.RUN_LOOP, self.state)
        with self._running():
            self._loop.push_client_datapacks(list(datapacks))
            done, trajectory = self._run(lambda count: count < iterations)
            return done, trajectory if done else []

    def run_until_timeout(self) -> tuple[bool, bool, list]:
        """Runs until the status function says done, stop is requested, or SimulationTimeout
        (seconds of simulation time) is reached. A timeout of 0 means no timeout."""
        check_allowed(Request.RUN_UNTIL_TIMEOUT, self.state)
        timeout_ns = int(round(float(self.config.get("SimulationTimeout", 0)) * 1e9))
        with self._running():
            done, trajectory = self._run(lambda count: timeout_ns <= 0 or self._loop.time_ns < timeout_ns)
            return done, timeout_ns > 0 and self._loop.time_ns >= timeout_ns, trajectory

    def reset(self, datapacks: list[DataPack] = ()) -> list:
        """Resets engines and time; `datapacks` reach their engines before the engines reset."""
        check_allowed(Request.RESET, self.state)
        with self._failing_on_error():
            self._loop.push_client_datapacks(list(datapacks))
            trajectory = self._loop.reset()
            self.state = SimulationState.INITIALIZED
            return trajectory

    def stop(self) -> None:
        """Asks a running request to return after the current iteration; safe from any thread."""
        check_allowed(Request.STOP, self.state)
        self._stop.set()

    def shutdown(self) -> None:
        check_allowed(Request.SHUTDOWN, self.state)
        self.teardown()
        self.state = SimulationState.CREATED
        self.error = ""

    def serve_steering(self) -> None:
        """Runs the steering jobs waiting for engines, between two requests (the engines are idle)."""
        if self._loop is not None and self.state in (SimulationState.INITIALIZED, SimulationState.STOPPED):
            self._loop.steering.serve(self._loop.engines, self._loop.engines)

    def check_steerable(self, engine: str | None = None) -> None:
        """Raises SteeringRefused unless steering jobs can be served (and `engine` exists)."""
        if self._loop is None or self.state not in (SimulationState.INITIALIZED, SimulationState.RUNNING,
                                                    SimulationState.STOPPED):
            raise SteeringRefused(f"the simulation cannot be steered in state {self.state.value or 'None'}")
        if engine is not None and engine not in self._loop.engines:
            raise SteeringRefused(f"no engine '{engine}' in this simulation (engines: "
                                  f"{', '.join(self._loop.engines)})", missing=True)

    def engine(self, name: str) -> EngineClient:
        self.check_steerable(name)
        return self._loop.engines[name]

    @property
    def time_ns(self) -> int:
        return self._loop.time_ns if self._loop else 0

    # -- internals -----------------------------------------------------------------------------

    def _run(self, keep_going) -> tuple[bool, list]:
        loop = self._loop
        trajectory: list = []
        count = 0
        done = False
        while keep_going(count) and not self._stop.is_set():
            result = loop.run_loop(loop.step_ns)
            count += 1
            trajectory.extend(result.observations)
            if result.done:
                done = True
                break
        # As nrp-core, a request ends with its engines' steps: a step that fails is reported by
        # the request that started it, and engines are idle between requests.
        loop.drain()
        return done, trajectory

    @contextlib.contextmanager
    def _running(self):
        self._stop.clear()
        self.state = SimulationState.RUNNING
        with self._failing_on_error():
            yield
            self.state = SimulationState.STOPPED

    @contextlib.contextmanager
    def _failing_on_error(self):
        try:
            yield
        except Exception as error:
            self.state = SimulationState.FAILED
            self.error = str(error) or type(error).__name__
            log.error("simulation failed: %s", self.error)
            raise

    def _build(self) -> FTILoop:
        config = self.config
        if config.get("SimulationLoop", "FTILoop") != "FTILoop":
            raise ConfigError(f"SimulationLoop '{config['SimulationLoop']}' is not supported (only FTILoop)",
                              path="SimulationLoop")
        if config.get("DataPackProcessor", "tf") != "tf":
            raise ConfigError(f"DataPackProcessor '{config['DataPackProcessor']}' is not supported (only tf)",
                              path="DataPackProcessor")
        engine_configs = config.get("EngineConfigs", [])
        if not engine_configs:
            raise ConfigError("the simulation has no engines", path="EngineConfigs")
        # The config loader has refused repeated engine names already.
        names = [engine["EngineName"] for engine in engine_configs]
        # Functions load before any engine starts, so that a broken TF file costs no process.
        functions = load_functions(_function_entries(config), set(names), namespace=_function_namespace(),
                                   base_dir=self.base_dir)
        processor = DataPackProcessor(functions, pass_by_value=argument_passing_policy(config) == "value")
        launchers = [make_launcher(engine) for engine in engine_configs]
        # Only engines launched here register; as in nrp-core, one started elsewhere (EmptyLaunchCommand)
        # is reached at its ServerAddress and its RegistrationServerAddress is ignored.
        launched = [engine for engine, launcher in zip(engine_configs, launchers)
                    if launcher.launches_process]
        if launched:
            self._registration = RegistrationServer(_registration_address(launched))
        self._engines = [make_in_process_client(engine, launcher) if isinstance(launcher, InProcess)
                         else make_engine_client(engine, launcher, self._registration)
                         for engine, launcher in zip(engine_configs, launchers)]
        # Processes start from this (long-lived) thread; then all engines come up concurrently.
        for engine in self._engines:
            engine.start(self.engine_output, cwd=self.base_dir)
        self._wait_all(engine.submit(tracked(engine.name, LAUNCH, engine.await_ready)) for engine in self._engines)
        if self.steering.closed:
            self.steering = SteeringDesk()
        self._loop = FTILoop(self._engines, processor, self.steering)
        return self._loop

    def teardown(self) -> None:
        """Shuts engines down and ends their processes; never raises, safe to call twice."""
        loop, engines = self._loop, self._engines
        self._loop, self._engines = None, []
        self.steering.close()
        if loop is not None:
            loop.abort.set()
        for engine in engines:
            engine.abandon_launch()
        connected = [engine for engine in engines if engine.crashed() is None and not engine.unresponsive]
        requests = [engine.submit(_quietly(engine.shutdown)) for engine in connected]
        concurrent.futures.wait(requests, timeout=SHUTDOWN_REQUEST_TIMEOUT_S)
        # Engines exit by themselves after a shutdown request; SIGTERM only those that linger. An
        # engine started elsewhere gets the request and nothing more: its launcher neither waits for
        # nor signals a process it does not own.
        deadline = time.monotonic() + EXIT_AFTER_SHUTDOWN_S
        for engine in connected:
            engine.launcher.wait(max(0.0, deadline - time.monotonic()))
        for engine in engines:
            engine.launcher.terminate()
        for engine in engines:
            engine.stop_process(HUNG_ENGINE_GRACE_S if engine.unresponsive else PROCESS_GRACE_S)
        if self._registration is not None:
            self._registration.close()
            self._registration = None

    @staticmethod
    def _wait_all(futures) -> None:
        futures = list(futures)
        for future in futures:
            future.result()


def _quietly(function):
    def call():
        try:
            function()
        except Exception as error:  # noqa: BLE001 (an engine failing to shut down is still stopped)
            log.debug("ignored during shutdown: %s", error)
    return call


def _function_entries(config: dict) -> list[FunctionEntry]:
    entries = [FunctionEntry(item["Name"], item["FileName"], item.get("IsActive", True))
               for item in config.get("DataPackProcessingFunctions", [])]
    status = config.get("StatusFunction")
    if status:
        entries.append(FunctionEntry(status["Name"], status["FileName"], status.get("IsActive", True), status=True))
    return entries


def _function_namespace() -> dict:
    # Function files share one namespace that starts as `from nrp_core import *` would leave it.
    namespace = {"__name__": "nrp_functions", "__builtins__": __builtins__}
    namespace.update({name: getattr(function_api, name) for name in function_api.__all__})
    return namespace


def _registration_address(engine_configs: list[dict]) -> str:
    for engine in engine_configs:
        if "RegistrationServerAddress" in engine:
            return engine["RegistrationServerAddress"]
    return "localhost:9001"
