"""The datapack processor: one iteration's PF → TF → SF cycle over the engines synced in it.

It does no I/O. The loop hands it the datapacks fetched from the synced engines; it runs the
functions linked to those engines and returns what must be sent to each engine, the status
function's verdict and its observations.
"""

from __future__ import annotations

import contextvars
import traceback
from dataclasses import dataclass, field

from google.protobuf.message import Message

from engines.datapacks import DataPack, DataPackIdentifier, JsonRawData
from engines.errors import FunctionError, function_at
from engines.nrpcoresim.functions import (DataPackFunction, EngineInput, EngineInputs, FunctionKind,
                                          PreprocessedInput, TimeInput)

# The iteration being processed, for `getSimulationTime()` / `getSimulationIteration()` in user code.
_clock: contextvars.ContextVar[tuple[int, int]] = contextvars.ContextVar("nrp_simulation_clock", default=(0, 0))


def simulation_time() -> int:
    """The simulation time of the iteration being processed, in ns."""
    return _clock.get()[0]


def simulation_iteration() -> int:
    """The number of the iteration being processed, from 0."""
    return _clock.get()[1]


@dataclass
class CycleResult:
    outputs: dict[str, list[DataPack]] = field(default_factory=dict)
    done: bool = False
    observations: list = field(default_factory=list)


class DataPackProcessor:
    """Runs the experiment's functions over cached datapacks."""

    def __init__(self, functions: list[DataPackFunction], *, pass_by_value: bool = True):
        self._preprocessors = [f for f in functions if f.kind is FunctionKind.PREPROCESSING]
        self._transceivers = [f for f in functions if f.kind is FunctionKind.TRANSCEIVER]
        self._status = next((f for f in functions if f.kind is FunctionKind.STATUS), None)
        self._pass_by_value = pass_by_value
        self._engine_cache: dict[tuple[str, str], DataPack] = {}
        self._preprocessed: dict[tuple[str, str], DataPack] = {}
        self._requests: dict[str, list[DataPackIdentifier]] = {}
        for function in functions:
            for identifier in function.engine_requests():
                wanted = self._requests.setdefault(identifier.engine_name, [])
                if all(known.key() != identifier.key() for known in wanted):
                    wanted.append(identifier)

    def requests_for(self, engine_name: str) -> list[DataPackIdentifier]:
        """The datapacks any function needs from this engine; empty when none."""
        return self._requests.get(engine_name, [])

    def reset(self) -> None:
        self._engine_cache.clear()
        self._preprocessed.clear()

    def store(self, datapacks: list[DataPack]) -> None:
        """Caches datapacks just received from engines; they count as updated this iteration."""
        for datapack in datapacks:
            datapack.mark_fresh()
            self._engine_cache[(datapack.name, datapack.engine_name)] = datapack

    def cycle(self, synced: set[str], fetched: list[DataPack], time_ns: int, iteration: int) -> CycleResult:
        """Runs one iteration: stores `fetched`, then PFs and TFs linked to `synced`, then the SF."""
        for cached in (*self._engine_cache.values(), *self._preprocessed.values()):
            cached.mark_stale()
        self.store(fetched)
        token = _clock.set((time_ns, iteration))
        try:
            result = CycleResult()
            for function in self._preprocessors:
                if function.engine_name in synced:
                    for datapack in self._run_list_function(function, time_ns, iteration):
                        self._preprocessed[(datapack.name, datapack.engine_name)] = datapack
            for function in self._transceivers:
                if function.engine_name in synced:
                    for datapack in self._run_list_function(function, time_ns, iteration):
                        # nrp-core delivers a TF output only to an engine synced in this iteration.
                        if datapack.engine_name in synced:
                            result.outputs.setdefault(datapack.engine_name, []).append(datapack)
            if self._status is not None:
                result.done, result.observations = self._run_status(time_ns, iteration)
            return result
        finally:
            _clock.reset(token)

    def observe(self, identifiers: list[DataPackIdentifier]) -> list:
        """Payloads of cached datapacks, as the initial trajectory of initialize and reset."""
        return [observation_of(self._engine_cache[i.key()]) for i in identifiers if i.key() in self._engine_cache]

    def all_requests(self) -> list[DataPackIdentifier]:
        return [identifier for wanted in self._requests.values() for identifier in wanted]

    def _arguments(self, function: DataPackFunction, time_ns: int, iteration: int) -> dict:
        arguments = {}
        for item in function.inputs:
            if isinstance(item, EngineInput):
                arguments[item.keyword] = self._lookup(self._engine_cache, item.id)
            elif isinstance(item, EngineInputs):
                arguments[item.keyword] = {name: self._lookup(self._engine_cache,
                                                              DataPackIdentifier(name, item.engine_name))
                                           for name in item.names}
            elif isinstance(item, PreprocessedInput):
                arguments[item.keyword] = self._lookup(self._preprocessed, item.id)
            elif isinstance(item, TimeInput):
                arguments[item.keyword] = iteration if item.iteration else time_ns
        return arguments

    def _lookup(self, cache: dict, identifier: DataPackIdentifier) -> DataPack:
        datapack = cache.get(identifier.key())
        if datapack is None:
            empty = DataPack(identifier.name, identifier.engine_name, None)
            empty.mark_stale()
            return empty
        return datapack.clone() if self._pass_by_value else datapack

    def _call(self, function: DataPackFunction, time_ns: int, iteration: int):
        try:
            return function(**self._arguments(function, time_ns, iteration))
        except Exception as error:  # noqa: BLE001 (user code: any failure is reported, named)
            frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == function.source_path]
            line = frames[-1].lineno if frames else function.line
            raise FunctionError(f"{function_at(function.kind.value, function.name, function.file, line)} "
                                f"raised {type(error).__name__}: {error}",
                                function=function.name, file=function.file, line=line) from error

    def _run_list_function(self, function: DataPackFunction, time_ns: int, iteration: int) -> list[DataPack]:
        returned = self._call(function, time_ns, iteration)
        if returned is None:
            returned = []
        if not isinstance(returned, (list, tuple)):
            self._fail(function, f"must return a list of datapacks, not {type(returned).__name__}")
        for datapack in returned:
            if not isinstance(datapack, DataPack):
                self._fail(function, f"returned {type(datapack).__name__}, which is not a datapack")
        return list(returned)

    def _run_status(self, time_ns: int, iteration: int) -> tuple[bool, list]:
        function = self._status
        returned = self._call(function, time_ns, iteration)
        if not (isinstance(returned, (list, tuple)) and len(returned) == 2
                and isinstance(returned[1], (list, tuple))):
            self._fail(function, "must return (done_flag, [observations])")
        done, observations = returned
        return bool(done), [observation_of(item) for item in observations]

    @staticmethod
    def _fail(function: DataPackFunction, reason: str):
        raise FunctionError(f"{function.where()} {reason}", function=function.name, file=function.file,
                            line=function.line)


def observation_of(item):
    """The trajectory element for a status-function output: a JSON value or a protobuf message."""
    if isinstance(item, (JsonRawData, DataPack)):
        return item.data
    if isinstance(item, Message) or item is None or isinstance(item, (dict, list, str, int, float, bool)):
        return item
    raise FunctionError(f"observation of type {type(item).__name__} is neither JSON nor a protobuf message")

