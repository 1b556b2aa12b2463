"""The FTI (fixed time increment) loop, with nrp-core 1.4's observable semantics.

- Every engine is queued at t=0 and synced there, so every function runs in the first iteration.
- An iteration takes the engines due earliest (the set L), waits for their steps, runs
  PF → TF → SF over them, sends the TF outputs addressed to engines in L, and restarts their steps.
- Engines step concurrently with each other and with the next iterations of other engines.
- Times are integer nanoseconds.

Each engine's step runs on its own worker as one task (send, step, fetch the next inputs; see
engine_client), so the loop thread only waits for the engines due and runs the functions.
"""

from __future__ import annotations

import concurrent.futures
import heapq
import logging
import threading

from engines.datapacks import DataPack
from engines.engine_progress import INITIALIZE, tracked
from engines.errors import EngineError, NrpCoreError
from engines.nrpcoresim.engine_client import EngineClient
from engines.nrpcoresim.processor import CycleResult, DataPackProcessor
from engines.nrpcoresim.steering import SteeringDesk

log = logging.getLogger(__name__)

# How often a wait for an engine wakes up to look for a crashed process or an abort.
_POLL_S = 0.1


class Aborted(NrpCoreError):
    """The loop was abandoned because the simulation is being shut down."""


class FTILoop:
    def __init__(self, engines: list[EngineClient], processor: DataPackProcessor,
                 steering: SteeringDesk | None = None):
        self.engines = {engine.name: engine for engine in engines}
        self.processor = processor
        # Datapacks from outside the script (steering.py), served at each engine's step boundary.
        self.steering = steering or SteeringDesk()
        self.time_ns = 0
        self.iteration = 0
        self._queue: list[tuple[int, int, str]] = []
        self._order = {name: index for index, name in enumerate(self.engines)}
        self._tasks: dict[str, concurrent.futures.Future] = {}
        self._client_datapacks: dict[str, list[DataPack]] = {}
        self.abort = threading.Event()

    @property
    def step_ns(self) -> int:
        """The loop's step: the smallest engine timestep."""
        return min(engine.timestep_ns for engine in self.engines.values())

    def initialize(self) -> list:
        """Initialises every engine (concurrently) and returns the initial observations."""
        self._wait_all({name: engine.submit(tracked(name, INITIALIZE, engine.initialize))
                         for name, engine in self.engines.items()})
        return self._restart()

    def reset(self) -> list:
        """Resets every engine and the simulation time; returns the initial observations.

        As in nrp-core, the client's datapacks not yet delivered (those sent with the reset request
        among them) reach their engines before the engines reset, so an engine's reset can read
        them; afterwards none is left for the next run."""
        self.drain()
        pending, self._client_datapacks = self._client_datapacks, {}
        # Steering writes held for the next step go as the client's do: before the engines reset.
        for name in self.engines:
            held = self.steering.take_held(name)
            pending.setdefault(name, []).extend(datapack for _, datapack in held)
            self.steering.applied(held, self.time_ns, self.iteration)
        pending = {name: datapacks for name, datapacks in pending.items() if datapacks}
        self.steering.forget_engines()
        deliveries = {}
        for name, datapacks in pending.items():
            engine = self.engines[name]
            engine.check_outgoing(datapacks)
            deliveries[name] = engine.submit(engine.set_datapacks, datapacks)
        self._wait_all(deliveries)
        self._wait_all({name: engine.submit(engine.reset) for name, engine in self.engines.items()})
        self.processor.reset()
        return self._restart()

    def _restart(self) -> list:
        self.time_ns = 0
        self.iteration = 0
        self._queue = [(0, self._order[name], name) for name in self.engines]
        heapq.heapify(self._queue)
        # Fetch what the functions need for the t=0 iteration; the same datapacks are the initial trajectory.
        self._tasks = {name: engine.submit(self._fetch, engine) for name, engine in self.engines.items()}
        fetched = self._wait_all(self._tasks)
        self._tasks = {name: _done((0, datapacks)) for name, (_, datapacks) in fetched.items()}
        self.processor.store([datapack for _, datapacks in fetched.values() for datapack in datapacks])
        return self.processor.observe(self.processor.all_requests())

    def _fetch(self, engine: EngineClient):
        wanted = self.processor.requests_for(engine.name)
        return 0, (engine.get_datapacks(wanted) if wanted else [])

    def push_client_datapacks(self, datapacks: list[DataPack]) -> None:
        """Datapacks sent by the client; each reaches its engine at the engine's next sync (or
        before the engines reset). One addressed to no engine of the simulation is dropped with a
        warning, as nrp-core keeps it where no engine ever takes it."""
        for datapack in datapacks:
            if datapack.engine_name not in self.engines:
                log.warning("datapack '%s' from the client is addressed to engine '%s', which is not in this "
                            "simulation (engines: %s); dropped", datapack.name, datapack.engine_name,
                            ", ".join(self.engines))
                continue
            self._client_datapacks.setdefault(datapack.engine_name, []).append(datapack)

    def run_loop(self, duration_ns: int) -> CycleResult:
        """Runs the iterations due before `time + duration_ns` and ends at that time, as
        nrp-core's FTILoop::runLoop does. The result is done if any iteration said so, with the
        observations of every iteration in order."""
        stop = self.time_ns + duration_ns
        combined = CycleResult()
        while self._queue and self._queue[0][0] < stop:
            result = self._iterate()
            combined.done = combined.done or result.done
            combined.observations.extend(result.observations)
        self.time_ns = stop
        return combined

    def _iterate(self) -> CycleResult:
        now = self._queue[0][0]
        synced = []
        while self._queue and self._queue[0][0] <= now:
            synced.append(heapq.heappop(self._queue)[2])
        self.time_ns = now
        engine_times = {}
        fetched: list[DataPack] = []
        for name, (engine_time, datapacks) in self._wait_all({n: self._tasks[n] for n in synced}).items():
            engine_times[name] = engine_time
            fetched.extend(datapacks)
        result = self.processor.cycle(set(synced), fetched, now, self.iteration)
        # The synced engines are idle until launched again: the one moment steering may use them.
        self.steering.serve(self.engines, synced)
        launches = []
        steered = []
        for name in synced:
            engine = self.engines[name]
            held = self.steering.take_held(name)
            steered.extend(held)
            # Last, so that a steered datapack replaces the functions' one of that name for the step.
            outputs = (result.outputs.get(name, []) + self._client_datapacks.pop(name, [])
                       + [datapack for _, datapack in held])
            run_time = now - engine_times[name] + engine.timestep_ns
            # Checked here, not on the engine's worker, so the request that caused it reports it.
            engine.check_outgoing(outputs)
            if run_time >= 0:
                launches.append((name, outputs, run_time))
                heapq.heappush(self._queue, (now + engine.timestep_ns, self._order[name], name))
            else:
                # The engine is ahead of the loop; nrp-core lets it wait until the loop catches up.
                log.warning("engine %s is ahead of the simulation (%d ns > %d ns); not stepped",
                            name, engine_times[name], now)
                self._tasks[name] = _done((engine_times[name], []))
                heapq.heappush(self._queue, (engine_times[name], self._order[name], name))
        self._launch(launches)
        self.steering.applied(steered, now, self.iteration)
        self.iteration += 1
        return result

    def _launch(self, launches: list[tuple[str, list[DataPack], int]]) -> None:
        """Starts the step tasks. The one due first runs on this thread, which would only wait for
        it anyway: that saves a thread hand-off per iteration, a good part of a step's cost."""
        if not launches:
            return
        first_due = min(self._queue)[2]
        inline = next((launch for launch in launches if launch[0] == first_due), None)
        for name, outputs, run_time in launches:
            if name != first_due:
                engine = self.engines[name]
                self._tasks[name] = engine.submit(engine.step_task, outputs, run_time,
                                                  self.processor.requests_for(name))
        if inline is not None:
            name, outputs, run_time = inline
            engine = self.engines[name]
            self._tasks[name] = engine.run_here(engine.step_task, outputs, run_time,
                                                self.processor.requests_for(name))

    def drain(self) -> None:
        """Waits for every step in flight (before a reset or shutdown)."""
        self._wait_all(self._tasks)

    def _wait_all(self, tasks: dict[str, concurrent.futures.Future]) -> dict:
        results = {}
        for name, task in tasks.items():
            while True:
                if self.abort.is_set():
                    raise Aborted("the simulation is shutting down")
                try:
                    results[name] = task.result(timeout=_POLL_S)
                    break
                except concurrent.futures.TimeoutError:
                    crashed = self.engines[name].crashed()
                    if crashed is not None:
                        raise crashed from None
                except concurrent.futures.CancelledError:
                    raise Aborted("the simulation is shutting down") from None
                except EngineError:
                    raise
        return results


def _done(value) -> concurrent.futures.Future:
    future = concurrent.futures.Future()
    future.set_result(value)
    return future
