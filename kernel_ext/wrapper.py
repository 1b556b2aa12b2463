"""`nrp` in the main script: nrp-core's client with pause, stop and NRP's timekeeping (spec 1.9).

Every `run_loop()` first honours pause (it blocks) and stop (it raises NRPStopExecution), then
refuses to run past SimulationTimeout (NRPSimulationTimeout), then forwards to NrpCore. Stop also
cuts a forwarded `run_loop(n)` short with NrpCore.stop(), so it never waits for n steps.

Stepping a paused simulation (`_step(n)`) lets exactly n steps through, whatever the script asks
for: a `run_loop(k)` forwards min(k, steps left) at a time and blocks again once they are used,
so the script's one call may take several forwards; it returns when all k steps have run (or
NRPCoreSim said done).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from .errors import NRPSimulationTimeout, NRPStopExecution

log = logging.getLogger(__name__)

#: The backend's default when the config has no SimulationTimestep (nrp-core 1.4 dropped the key).
DEFAULT_TIMESTEP = 0.01
TIMEOUT_MESSAGE = "The number of iteration requested will exceed the timeout"
STOP_MESSAGE = "The simulation is being stopped"

# Errors NrpCore.stop() raises when there is nothing (left) to stop; the run has ended then.
_STOP_REFUSED = (ConnectionError, ChildProcessError, RuntimeError)
_STOP_RETRY_S = 0.1


class NrpCoreWrapper:
    """Wraps an `engines.nrpcore_client.NrpCore`; built by the simulation server, used by the main script.

    Attributes the wrapper does not define are the wrapped client's (`nrp.set_json_datapack`,
    `nrp.current_state()`, ...). `initialize`, `shutdown`, `reset` and `stop` are the simulation
    server's business and raise NotImplementedError when a script calls them.
    """

    def __init__(self, core: Any, config: Mapping[str, Any]) -> None:
        self._core = core
        # A missing SimulationTimeout reads as 0 (the backend's validation), allowing no step at all.
        timeout = float(config.get("SimulationTimeout") or 0)
        self.timestep = float(config.get("SimulationTimestep") or DEFAULT_TIMESTEP)
        self.max_timesteps = int(timeout / self.timestep)
        self.timesteps_count = 0

        self._lock = threading.Lock()
        # What lets a run_loop through: resumed, steps left, a stop or a breakage. Paused at first.
        self._gate = threading.Condition()
        self._resumed = False
        self._steps_left = 0
        self._steps_done = 0
        self._on_stepped: Callable[[int], None] | None = None
        self._held = threading.Event()  # set while a run_loop waits for resume
        self._stop_requested = threading.Event()
        self._broken: BaseException | None = None
        self._idle = threading.Event()  # set while no run_loop is forwarded to NrpCore
        self._idle.set()
        self._elapsed_ns = 0
        self._run_started_ns: int | None = None

    # -- the script's API ------------------------------------------------------------------------

    def run_loop(self, num_iterations: int = 1, json_data: Any = None) -> Any:
        """Run `num_iterations` steps once not paused; returns NrpCore.run_loop's `(done, trajectory)`."""
        if json_data is not None:
            # NRP forwarded it as nrp-client's `run_async` by mistake; nrp-core 1.4 takes datapacks only
            # through the setters, so refuse it rather than run asynchronously.
            raise TypeError("nrp.run_loop(json_data=...) is not supported by nrp-core 1.4; send datapacks "
                            "with nrp.set_json_datapack(name, engine, payload) before run_loop()")
        remaining = num_iterations
        first = True
        while True:
            allowed = self._await_steps(remaining)
            result = self._forward(allowed, num_iterations if first else 0)
            first = False
            remaining -= allowed
            self._count_steps(allowed)
            done = isinstance(result, tuple) and bool(result[0])
            if remaining <= 0 or done:
                return result

    def _await_steps(self, wanted: int) -> int:
        """How many of `wanted` steps may run now; blocks while paused with no steps left."""
        with self._gate:
            try:
                while not (self._resumed or self._steps_left > 0 or self._stop_requested.is_set()
                           or self._broken is not None):
                    self._held.set()
                    self._gate.wait()
            finally:
                self._held.clear()
            if self._resumed or self._steps_left <= 0 or wanted <= 0:
                return wanted
            return min(wanted, self._steps_left)

    def _forward(self, iterations: int, whole_call: int) -> Any:
        """One run_loop to NrpCore; `whole_call` > 0 checks the timeout for the script's whole call."""
        with self._lock:
            # Checked under the lock that also marks the run in flight, so that a stop request
            # either sees this run (and interrupts it) or is seen here.
            if self._stop_requested.is_set():
                raise NRPStopExecution(STOP_MESSAGE)
            if self._broken is not None:
                raise self._broken
            if whole_call and self.timesteps_count + whole_call > self.max_timesteps:
                raise NRPSimulationTimeout(TIMEOUT_MESSAGE)
            self._idle.clear()
            self._run_started_ns = time.perf_counter_ns()
        try:
            result = self._core.run_loop(iterations)
        finally:
            with self._lock:
                self._elapsed_ns += time.perf_counter_ns() - self._run_started_ns
                self._run_started_ns = None
                self._idle.set()
        if self._stop_requested.is_set():
            # The run may have been cut short by stopLoop: its steps are not counted.
            raise NRPStopExecution(STOP_MESSAGE)
        self.timesteps_count += iterations
        return result

    def _count_steps(self, iterations: int) -> None:
        """Steps a step request let through; its callback once they are all used."""
        with self._gate:
            if self._resumed or self._steps_left <= 0:
                return
            self._steps_left = max(0, self._steps_left - iterations)
            self._steps_done += iterations
            if self._steps_left:
                return
            done, callback, self._on_stepped = self._steps_done, self._on_stepped, None
        if callback is not None:
            callback(done)

    @property
    def simulation_time(self) -> float:
        """Seconds of simulation time run so far."""
        return self.timesteps_count * self.timestep

    @property
    def simulation_time_remaining(self) -> float:
        """Seconds of simulation time left before SimulationTimeout."""
        return (self.max_timesteps - self.timesteps_count) * self.timestep

    @property
    def real_time(self) -> float:
        """Wall-clock seconds spent inside run_loop (time paused or between calls does not count)."""
        with self._lock:
            elapsed = self._elapsed_ns
            if self._run_started_ns is not None:
                elapsed += time.perf_counter_ns() - self._run_started_ns
        return elapsed * 1e-9

    def initialize(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("nrp.initialize(): the simulation server initialises the simulation")

    def shutdown(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("nrp.shutdown(): the simulation server shuts the simulation down "
                                  "when it is stopped")

    def reset(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("nrp.reset() is not supported in NRP v4 main scripts")

    def stop(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("nrp.stop(): stop the simulation through its state (stopped); "
                                  "a script ends by returning")

    def __getattr__(self, name: str) -> Any:
        # Only reached for names the wrapper lacks. `_core` is looked up in __dict__ so that a
        # half-built or copied instance raises AttributeError instead of recursing.
        core = self.__dict__.get("_core")
        if core is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(core, name)

    # -- the simulation server's API -------------------------------------------------------------

    @property
    def core(self) -> Any:
        return self._core

    @property
    def in_flight(self) -> bool:
        """True while a run_loop is forwarded to NrpCore."""
        return not self._idle.is_set()

    def wait_idle(self, timeout: float) -> bool:
        """True once no run_loop is forwarded to NrpCore (within `timeout` seconds)."""
        return self._idle.wait(timeout)

    @property
    def held(self) -> bool:
        """True while the script waits in run_loop() for resume (pause holds it there)."""
        return self._held.is_set()

    @property
    def stop_requested(self) -> bool:
        """True once stop has been requested: every run_loop() from then on raises NRPStopExecution."""
        return self._stop_requested.is_set()

    def _initialize(self) -> Any:
        return self._core.initialize()

    def _shutdown(self) -> None:
        self._core.shutdown()

    def _pause(self) -> None:
        """The next run_loop() blocks (a forwarded one finishes its iterations first)."""
        with self._gate:
            self._resumed = False

    def _resume(self) -> None:
        """Lets the script run; a step in progress ends there, its callback told the steps it ran."""
        with self._gate:
            self._resumed = True
            self._steps_left = 0
            done, callback, self._on_stepped = self._steps_done, self._on_stepped, None
            self._gate.notify_all()
        if callback is not None:
            callback(done)

    def _step(self, steps: int, on_stepped: Callable[[int], None]) -> None:
        """Lets exactly `steps` steps through a paused script; `on_stepped(steps)` is called (on the
        script's thread) once they have run."""
        with self._gate:
            if self._resumed:
                raise RuntimeError("not paused")
            if self._steps_left:
                raise RuntimeError("a step is in progress")
            self._steps_left, self._steps_done, self._on_stepped = steps, 0, on_stepped
            self._gate.notify_all()

    @property
    def stepping(self) -> bool:
        """True while steps of a step request are left to run."""
        with self._gate:
            return self._steps_left > 0

    def _reset_time(self) -> None:
        """Back to time 0 after NRPCoreSim's reset: the timeout counts from here again."""
        with self._lock:
            self.timesteps_count = 0
            self._elapsed_ns = 0

    def _release(self) -> None:
        with self._gate:
            self._gate.notify_all()

    def _request_stop(self) -> bool:
        """Make run_loop() raise NRPStopExecution, releasing a paused script; True if a run is in flight."""
        with self._lock:
            self._stop_requested.set()
            in_flight = not self._idle.is_set()
        self._release()
        return in_flight

    def _interrupt_run(self, timeout: float) -> bool:
        """Ask NRPCoreSim to end the forwarded run_loop after its current iteration; True once it has.

        stopLoop is repeated until the run returns: one sent before NRPCoreSim has begun to
        execute the queued runLoop would be cleared when the run begins.
        """
        deadline = time.monotonic() + timeout
        while not self._idle.is_set():
            try:
                self._core.stop()
            except _STOP_REFUSED as err:
                log.debug("NrpCore.stop() refused (the run may have ended): %s", err)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            self._idle.wait(min(_STOP_RETRY_S, remaining))
        return self._idle.is_set()

    def _stop_execution(self, timeout: float) -> bool:
        """Stop flag, release pause, interrupt a run in flight; True when no run is in flight anymore."""
        if self._request_stop():
            return self._interrupt_run(timeout)
        return True

    def _break(self, error: BaseException) -> None:
        """The simulation broke under the script: the next run_loop() raises `error`, even if paused."""
        with self._lock:
            self._broken = error
        self._release()
