"""Steering: datapacks from outside the main script, and reads of engines' datapacks, for a
simulation that runs or is paused (our extension, protos/nrp_steering.proto; nrp-core has none).

An engine may only be talked to while it is idle: between two requests (every engine is, since a
request ends with its engines' steps), or during a run at the step boundary where the loop has
just waited for it. So every read and write is a job on the `SteeringDesk`, served at the first of
these moments: `serve` runs the jobs of the engines it is given, on the thread that calls it (the
loop's at a boundary, the request thread between runs).

A write is first checked against its engine (a datapack the engine does not have would fail the
step, and with it the simulation), then held until the engine's next step, which sends it after
the transceiver functions' outputs: as a client datapack of runLoop, it replaces the engine's
datapack of that name for that step. Its outcome, applied at which loop time or refused and why,
goes to every `watch`er, in the order of application.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from engines.datapacks import DataPack, DataPackIdentifier, ProtobufDataPack
from engines.errors import EngineError, NrpCoreError

log = logging.getLogger(__name__)

#: Outcomes kept for watchers that connect late or fall behind.
KEPT_OUTCOMES = 10_000


class SteeringRefused(NrpCoreError):
    """A steering request that cannot be served; `missing` when what it names does not exist."""

    def __init__(self, message: str, *, missing: bool = False):
        super().__init__(message)
        self.missing = missing


@dataclass(frozen=True)
class Outcome:
    """What became of one steering write."""

    ticket: int
    engine: str
    datapack: str
    applied: bool
    time_ns: int = 0
    iteration: int = 0
    error: str = ""
    missing: bool = False


@dataclass
class _Job:
    engine: str
    name: str
    write: DataPack | None  # None for a read
    ticket: int = 0
    # A read's answer (the engine's datapack); a write's is only its outcome.
    answer: concurrent.futures.Future | None = None


class SteeringDesk:
    """The jobs waiting for their engine, the writes held for its next step, and the outcomes."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._jobs: list[_Job] = []
        self._held: dict[str, list[tuple[int, DataPack]]] = {}
        # Names each engine has answered for: a write of a known name needs no check round trip.
        self._known: dict[str, set[str]] = {}
        self._outcomes: collections.deque[tuple[int, Outcome]] = collections.deque(maxlen=KEPT_OUTCOMES)
        self._sequence = 0
        self._closed = False

    # -- from the RPC threads ------------------------------------------------------------------

    def write(self, ticket: int, datapack: DataPack) -> None:
        self._add(_Job(datapack.engine_name, datapack.name, datapack, ticket))

    def read(self, engine: str, name: str) -> concurrent.futures.Future:
        """The engine's datapack `name`, once a `serve` has fetched it."""
        job = _Job(engine, name, None, answer=concurrent.futures.Future())
        self._add(job)
        return job.answer

    def _add(self, job: _Job) -> None:
        with self._lock:
            if self._closed:
                raise SteeringRefused("the simulation is shutting down")
            self._jobs.append(job)

    def watch(self, still_wanted=lambda: True, poll_s: float = 0.5) -> Iterator[Outcome]:
        """Every outcome from the oldest kept on, as they come, until `close` (or `still_wanted`
        says no)."""
        seen = 0
        while True:
            with self._lock:
                while not self._closed and (not self._outcomes or self._outcomes[-1][0] <= seen):
                    self._lock.wait(poll_s)
                    if not still_wanted():
                        return
                fresh = [outcome for sequence, outcome in self._outcomes if sequence > seen]
                if self._outcomes:
                    seen = self._outcomes[-1][0]
                closed = self._closed
            yield from fresh
            if closed:
                return

    # -- from the thread that may talk to the engines -------------------------------------------

    def serve(self, engines: dict, idle: Iterable[str]) -> None:
        """Runs the jobs of the `idle` engines (name -> EngineClient in `engines`) on this thread."""
        if not self._jobs:
            # Read without the lock, once per engine sync: a job added meanwhile waits one boundary.
            return
        idle = set(idle)
        with self._lock:
            mine = [job for job in self._jobs if job.engine in idle]
            if not mine:
                return
            self._jobs = [job for job in self._jobs if job.engine not in idle]
        for job in mine:
            engine = engines.get(job.engine)
            try:
                if engine is None:
                    raise SteeringRefused(f"no engine '{job.engine}' in this simulation", missing=True)
                if job.write is None:
                    job.answer.set_result(self._fetch(engine, job.name))
                else:
                    self._check_write(engine, job.write)
                    with self._lock:
                        self._held.setdefault(job.engine, []).append((job.ticket, job.write))
            except (EngineError, SteeringRefused) as error:
                if job.answer is not None:
                    job.answer.set_exception(error)
                else:
                    self._report([Outcome(job.ticket, job.engine, job.name, applied=False, error=str(error),
                                          missing=getattr(error, "missing", False))])

    def _fetch(self, engine, name: str) -> DataPack:
        try:
            [datapack] = engine.get_datapacks([DataPackIdentifier(name, engine.name)])
        except EngineError as error:
            # The engine's own words (a traceback from its server) go to the log, not to the client.
            log.info("steering: engine '%s' refused to read datapack '%s': %s", engine.name, name, error)
            raise SteeringRefused(f"engine '{engine.name}' has no datapack '{name}'", missing=True) from None
        with self._lock:
            self._known.setdefault(engine.name, set()).add(name)
        return datapack

    def _check_write(self, engine, datapack: DataPack) -> None:
        engine.check_outgoing([datapack])
        if datapack.name in self._known.get(engine.name, ()) and not isinstance(datapack, ProtobufDataPack):
            return
        current = self._fetch(engine, datapack.name)
        if (isinstance(datapack, ProtobufDataPack) and isinstance(current, ProtobufDataPack)
                and current.data is not None and current.type != datapack.type):
            raise SteeringRefused(f"datapack '{datapack.name}' of engine '{engine.name}' is a {current.type}, "
                                  f"not a {datapack.type}")

    def take_held(self, engine: str) -> list[tuple[int, DataPack]]:
        """The writes held for `engine`'s next step, oldest first; they leave the desk."""
        if not self._held:
            return []
        with self._lock:
            return self._held.pop(engine, [])

    def applied(self, held: list[tuple[int, DataPack]], time_ns: int, iteration: int) -> None:
        self._report([Outcome(ticket, datapack.engine_name, datapack.name, applied=True, time_ns=time_ns,
                              iteration=iteration) for ticket, datapack in held])

    def _report(self, outcomes: list[Outcome]) -> None:
        if not outcomes:
            return
        with self._lock:
            for outcome in outcomes:
                self._sequence += 1
                self._outcomes.append((self._sequence, outcome))
            self._lock.notify_all()

    def forget_engines(self) -> None:
        """After a reset: names are checked again (a reset may rebuild what an engine registers)."""
        with self._lock:
            self._known.clear()

    def close(self, reason: str = "the simulation is shutting down") -> None:
        """Refuses everything still waiting and ends the watchers; safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            jobs, self._jobs = self._jobs, []
            held, self._held = self._held, {}
        refused = []
        for job in jobs:
            if job.answer is not None:
                job.answer.set_exception(SteeringRefused(reason))
            else:
                refused.append(Outcome(job.ticket, job.engine, job.name, applied=False, error=reason))
        refused += [Outcome(ticket, datapack.engine_name, datapack.name, applied=False, error=reason)
                    for writes in held.values() for ticket, datapack in writes]
        with self._lock:
            for outcome in refused:
                self._sequence += 1
                self._outcomes.append((self._sequence, outcome))
            self._lock.notify_all()

    @property
    def closed(self) -> bool:
        with self._lock:
            return self._closed
