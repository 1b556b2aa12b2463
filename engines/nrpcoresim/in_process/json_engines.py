"""python_json and py_sim engines in process: datapack values cross as JSON values.

The engine gets what the JSON protocol would deliver (json_values): a copy, tuples as lists, numpy
values refused on the way in and turned into lists and numbers on the way out, as the JSON client
and server do. Setting datapacks checks every name before setting any, as the server does.
"""

from __future__ import annotations

import logging
import os

from engines import engine_wire as wire
from engines.datapacks import DataPack, DataPackIdentifier, JsonDataPack, NlohmannJson
from engines.nrpcoresim.datapack_kinds import check_json_datapacks
from engines.nrpcoresim.in_process.engine_client import Actions, InProcessEngineClient, checked_time_step
from engines.nrpcoresim.in_process.json_values import json_copy, tolist_default
from engines.servers.script import script_calls
from engines.servers.script.json_script import EngineScript
from engines.servers.script.script_host import EngineStateError

log = logging.getLogger(__name__)

JSON_ACTIONS = Actions(*(route.action for route in (
    wire.JsonRoute.INITIALIZE, wire.JsonRoute.RUN_LOOP, wire.JsonRoute.SET_DATAPACKS, wire.JsonRoute.GET_DATAPACKS,
    wire.JsonRoute.RESET, wire.JsonRoute.SHUTDOWN, wire.JsonRoute.STEP)))


class InProcessJsonClient(InProcessEngineClient):
    """A python_json engine's script, hosted here."""

    actions = JSON_ACTIONS

    def script_base(self) -> type:
        return EngineScript

    def check_outgoing(self, datapacks: list[DataPack]) -> None:
        check_json_datapacks(self.name, self.config["EngineType"], datapacks)

    def set_datapacks(self, datapacks: list[DataPack]) -> None:
        self.check_outgoing(datapacks)
        self._call(self.actions.set_datapacks, self._host.with_script, _set, _values(datapacks))

    def get_datapacks(self, identifiers: list[DataPackIdentifier]) -> list[DataPack]:
        return self._call(self.actions.get_datapacks, self._host.with_script, _get, identifiers)

    def step(self, datapacks, time_step_ns, prefetch):
        self.check_outgoing(datapacks)
        return self._call(self.actions.step, self._host.with_script, _step, _values(datapacks),
                          checked_time_step(time_step_ns), prefetch)


class InProcessPySimClient(InProcessJsonClient):
    """A py_sim engine's script and its simulator, hosted here; shutting the engine down also
    shuts its simulator down, as the py_sim server does."""

    def __init__(self, config, launcher, registration):
        # Before any simulator is imported, as the py_sim server does: MuJoCo picks its OpenGL
        # platform at import time, and this process has no display either.
        os.environ.setdefault("MUJOCO_GL", "egl")
        super().__init__(config, launcher, registration)
        self._simulator = None

    def script_base(self) -> type:
        from engines.servers.simulators.engine_script import PySimEngineScript

        return PySimEngineScript

    def initialize(self) -> None:
        super().initialize()
        # Kept for a stop without a shutdown request, when asking the script for it may block.
        self._simulator = self._sim_manager()

    def shutdown(self) -> None:
        self._call(self.actions.shutdown, self._shut_down_with_simulator)

    def _close_script(self, grace_s: float) -> bool:
        closed = super()._close_script(grace_s)
        if closed and self._simulator is not None:
            try:
                self._simulator.shutdown()
            except Exception as error:  # noqa: BLE001 (a stop goes on whatever the simulator does)
                log.warning('engine "%s": its simulator failed to shut down: %s', self.name, error)
        return closed

    def _shut_down_with_simulator(self) -> None:
        manager = self._sim_manager()
        self._simulator = None  # shut down here, whatever happens: not again when the engine is stopped
        try:
            self._host.shutdown()
        finally:
            # Scripts normally shut their simulator down themselves; doing it twice is harmless.
            if manager is not None:
                manager.shutdown()

    def _sim_manager(self):
        try:
            with self._host.script() as script:
                return script.__dict__.get("_sim_manager")
        except EngineStateError:  # never initialized, or shut down already
            return None


def _values(datapacks: list[DataPack]) -> list[tuple[str, object]]:
    """Each datapack's name and the value the JSON protocol would deliver; a datapack a function
    built and never filled is JSON null, as in nrp-core."""
    values = []
    for datapack in datapacks:
        data = datapack.data
        if type(data) is NlohmannJson and data.json_type() == "null":
            data = None
        values.append((datapack.name, json_copy(data)))
    return values


def _step(script, values: list[tuple[str, object]], time_step_ns: int, prefetch: list[DataPackIdentifier]):
    """The JSON server's /step: set, advance, get, with the script held throughout."""
    if values:
        _set(script, values)
    engine_time = script_calls.advance(script, time_step_ns)
    return engine_time, (_get(script, prefetch) if prefetch else [])


def _set(script, values: list[tuple[str, object]]) -> None:
    # Every name is checked before any datapack is set, so that a bad request changes nothing.
    for name, _ in values:
        script._checkRegistered(name, "set data on")
    for name, value in values:
        script._setDataPack(name, value)


def _get(script, identifiers: list[DataPackIdentifier]) -> list[DataPack]:
    datapacks = []
    for identifier in identifiers:
        data = json_copy(script._getDataPack(identifier.name), tolist_default)
        datapacks.append(JsonDataPack(identifier.name, identifier.engine_name, data, empty=data is None))
    return datapacks
