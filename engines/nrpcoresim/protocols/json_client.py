"""Client side of the JSON-over-REST engine protocol (python_json, py_sim, nest_json, ...).

Every route is a POST with a JSON body; times are integer ns; a datapack entry without `data`
is an empty datapack. One keep-alive HTTP/1.1 connection per engine, with TCP_NODELAY.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

from engines.datapacks import (JSON_DATAPACK_TYPE, DataPack, DataPackIdentifier, JsonDataPack, NlohmannJson,
                               ProtobufDataPack)
from engines.errors import EngineCrashed, EngineError, EngineLaunchError
from engines.nrpcoresim.engine_client import CRASH_GRACE_S, EngineClient
from engines.nrpcoresim.protocols.engine_arguments import json_engine_arguments
from engines.nrpcoresim.protocols.registration import set_nodelay

_HEADERS = {"Content-Type": "application/json"}


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

    def _post(self, route: str, body):
        if self._connection is None:
            raise EngineError(self.name, "not connected")
        payload = json.dumps(body).encode()
        try:
            self._connection.request("POST", route, payload, _HEADERS)
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
        self.note_capabilities(self._post("/initialize", self.initialize_config()))

    def reset(self) -> None:
        self._post("/reset", "reset")  # the JSON string "reset", as nrp-core's client sends

    def shutdown(self) -> None:
        self._post("/shutdown", None)  # JSON null, as nrp-core's client sends

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()

    def run_loop_step(self, time_step_ns: int) -> int:
        reply = self._post("/run_loop", {"time_step": int(time_step_ns)})
        try:
            return int(reply["time"])
        except (TypeError, KeyError, ValueError):
            raise EngineError(self.name, f"/run_loop answered {reply!r}, expected {{\"time\": <ns>}}") from None

    def get_datapacks(self, identifiers: list[DataPackIdentifier]) -> list[DataPack]:
        return self._read_datapacks("/get_datapacks", identifiers, self._post("/get_datapacks",
                                                                               _get_body(identifiers)))

    def step(self, datapacks, time_step_ns, prefetch):
        self.check_outgoing(datapacks)
        reply = self._post("/step", {"set": _set_body(datapacks), "time_step": int(time_step_ns),
                                     "get": _get_body(prefetch)})
        try:
            engine_time, fetched = int(reply["time"]), reply["datapacks"]
        except (TypeError, KeyError, ValueError):
            raise EngineError(self.name, f"/step answered {reply!r}, expected time and datapacks") from None
        return engine_time, self._read_datapacks("/step", prefetch, fetched)

    def _read_datapacks(self, route: str, identifiers: list[DataPackIdentifier], reply) -> list[DataPack]:
        if not isinstance(reply, dict):
            raise EngineError(self.name, f"{route} answered {type(reply).__name__}, expected an object")
        datapacks = []
        for identifier in identifiers:
            entry = reply.get(identifier.name)
            if not isinstance(entry, dict):
                raise EngineError(self.name, f"{route} did not return datapack '{identifier.name}'")
            data = entry.get("data")
            datapacks.append(JsonDataPack(identifier.name, identifier.engine_name, data, empty=data is None))
        return datapacks

    def check_outgoing(self, datapacks: list[DataPack]) -> None:
        for datapack in datapacks:
            if isinstance(datapack, ProtobufDataPack):
                raise EngineError(self.name, f"datapack '{datapack.name}' holds a protobuf message "
                                             f"({datapack.type}); a {self.config['EngineType']} engine takes JSON datapacks")

    def set_datapacks(self, datapacks: list[DataPack]) -> None:
        self.check_outgoing(datapacks)
        self._post("/set_datapacks", _set_body(datapacks))


def _get_body(identifiers: list[DataPackIdentifier]) -> dict:
    return {i.name: {"engine_name": i.engine_name, "type": i.type or JSON_DATAPACK_TYPE} for i in identifiers}


def _set_body(datapacks: list[DataPack]) -> dict:
    return {d.name: {"engine_name": d.engine_name, "type": JSON_DATAPACK_TYPE, "data": _wire_data(d.data)}
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
