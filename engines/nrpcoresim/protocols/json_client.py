"""Client side of the JSON-over-REST engine protocol (python_json, py_sim, nest_json, ...).

The routes and bodies are engines.engine_wire's. One keep-alive HTTP/1.1 connection per engine,
with TCP_NODELAY.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

from engines import engine_wire as wire
from engines.datapacks import JSON_DATAPACK_TYPE, DataPack, DataPackIdentifier, JsonDataPack, NlohmannJson
from engines.errors import EngineCrashed, EngineError, EngineLaunchError
from engines.nrpcoresim.datapack_kinds import check_json_datapacks
from engines.nrpcoresim.engine_client import CRASH_GRACE_S, EngineClient
from engines.nrpcoresim.protocols.engine_arguments import json_engine_arguments
from engines.nrpcoresim.protocols.registration import set_nodelay

_HEADERS = {"Content-Type": wire.JSON_CONTENT_TYPE}


class JsonEngineClient(EngineClient):
    protocol = "json"

    def __init__(self, config, launcher, registration):
        super().__init__(config, launcher, registration)
        self._connection: http.client.HTTPConnection | None = None

    def _registers(self, command: list[str]) -> bool:
        return True  # the JSON protocol's launch always goes through the registration server

    def _launch_arguments(self) -> list[str]:
        return json_engine_arguments(self.config, self.registration.address)

    def connect(self, timeout_s: float) -> None:
        host, _, port = self.address.rpartition(":")
        host = host[1:-1] if host.startswith("[") else host  # "[::1]:9102": an IPv6 host
        deadline = time.monotonic() + timeout_s
        while True:
            connection = http.client.HTTPConnection(host or "localhost", int(port), timeout=self.command_timeout_s)
            try:
                connection.connect()
                set_nodelay(connection.sock)
                self._connection = connection
                return
            except OSError as error:
                connection.close()
                crashed = self.crashed()
                if crashed is not None:
                    raise crashed from None
                if time.monotonic() > deadline:
                    raise EngineLaunchError(self.name, f"cannot connect to {self.address}: {error}") from None
                time.sleep(0.05)

    def _post(self, route: wire.JsonRoute, body):
        if self._connection is None:
            raise EngineError(self.name, "not connected")
        payload = json.dumps(body).encode()
        try:
            self._connection.request("POST", str(route), payload, _HEADERS)
            response = self._connection.getresponse()
            text = response.read()
        except socket.timeout:
            self._connection.close()
            raise self.timeout_error() from None
        except (OSError, http.client.HTTPException) as error:
            self._connection.close()
            raise self.crashed(CRASH_GRACE_S) or EngineCrashed(self.name, f"connection lost during {route}: {error}") from None
        if response.status != 200:
            raise EngineError(self.name, f"{route} failed (HTTP {response.status}): {_message(text)}")
        return json.loads(text) if text else None

    def initialize(self) -> None:
        self.note_capabilities(self._post(wire.JsonRoute.INITIALIZE, self.initialize_config()))

    def reset(self) -> None:
        self._post(wire.JsonRoute.RESET, wire.RESET_BODY)

    def shutdown(self) -> None:
        self._post(wire.JsonRoute.SHUTDOWN, wire.SHUTDOWN_BODY)

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def run_loop_step(self, time_step_ns: int) -> int:
        route = wire.JsonRoute.RUN_LOOP
        reply = self._post(route, {wire.TIME_STEP: int(time_step_ns)})
        try:
            return int(reply[wire.TIME])
        except (TypeError, KeyError, ValueError):
            raise EngineError(self.name,
                              f'{route} answered {reply!r}, expected {{"{wire.TIME}": <ns>}}') from None

    def get_datapacks(self, identifiers: list[DataPackIdentifier]) -> list[DataPack]:
        route = wire.JsonRoute.GET_DATAPACKS
        return self._read_datapacks(route, identifiers, self._post(route, _get_body(identifiers)))

    def step(self, datapacks, time_step_ns, prefetch):
        self.check_outgoing(datapacks)
        route = wire.JsonRoute.STEP
        reply = self._post(route, {wire.STEP_SET: _set_body(datapacks), wire.TIME_STEP: int(time_step_ns),
                                   wire.STEP_GET: _get_body(prefetch)})
        try:
            engine_time, fetched = int(reply[wire.TIME]), reply[wire.STEP_DATAPACKS]
        except (TypeError, KeyError, ValueError):
            raise EngineError(self.name, f"{route} answered {reply!r}, expected time and datapacks") from None
        return engine_time, self._read_datapacks(route, prefetch, fetched)

    def _read_datapacks(self, route: wire.JsonRoute, identifiers: list[DataPackIdentifier],
                        reply) -> list[DataPack]:
        if not isinstance(reply, dict):
            raise EngineError(self.name, f"{route} answered {type(reply).__name__}, expected an object")
        datapacks = []
        for identifier in identifiers:
            entry = reply.get(identifier.name)
            if not isinstance(entry, dict):
                raise EngineError(self.name, f"{route} did not return datapack '{identifier.name}'")
            data = entry.get(wire.DATAPACK_DATA)
            datapacks.append(JsonDataPack(identifier.name, identifier.engine_name, data, empty=data is None))
        return datapacks

    def check_outgoing(self, datapacks: list[DataPack]) -> None:
        check_json_datapacks(self.name, self.config["EngineType"], datapacks)

    def set_datapacks(self, datapacks: list[DataPack]) -> None:
        self.check_outgoing(datapacks)
        self._post(wire.JsonRoute.SET_DATAPACKS, _set_body(datapacks))


def _get_body(identifiers: list[DataPackIdentifier]) -> dict:
    return {i.name: {wire.ENGINE_NAME: i.engine_name, wire.DATAPACK_TYPE: i.type or JSON_DATAPACK_TYPE}
            for i in identifiers}


def _set_body(datapacks: list[DataPack]) -> dict:
    return {d.name: {wire.ENGINE_NAME: d.engine_name, wire.DATAPACK_TYPE: JSON_DATAPACK_TYPE,
                     wire.DATAPACK_DATA: _wire_data(d.data)}
            for d in datapacks}


def _wire_data(data):
    # A datapack a function built and never filled is JSON null on the wire, as in nrp-core.
    if type(data) is NlohmannJson and data.json_type() == "null":
        return None
    return data


def _message(text: bytes) -> str:
    try:
        decoded = json.loads(text)
    except ValueError:
        return text.decode(errors="replace").strip()
    return decoded if isinstance(decoded, str) else json.dumps(decoded)
