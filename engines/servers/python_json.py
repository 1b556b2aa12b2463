"""The python_json engine server: nrp-core's JSON-over-REST engine protocol.

    nrp-python-json-engine --engine=NAME --serverurl=HOST:PORT [--regservurl=HOST:PORT] [--options=STR]

The routes and bodies are engines.engine_wire's, `/step` and its announcement in the initialize
reply included. A failure answers 500 with a JSON string naming the engine, the script's file and
line, and the exception.
"""

import json
import logging
import sys
from collections.abc import Callable
from typing import Any

from engines import engine_wire as wire
from engines.servers.cli import join_address, split_address
from engines.servers.http_server import HttpServer, Response
from engines.servers.runner import run_engine
from engines.servers.script.json_script import EngineScript
from engines.servers.script.script_host import ScriptHost

log = logging.getLogger(__name__)

DEFAULT_SERVER_URL = "localhost:9002"  # EngineJSON's ServerAddress default
# Protocol extensions this server offers, announced in the initialize reply.
CAPABILITIES = [wire.STEP_CAPABILITY]


class JsonEngineServer:
    """The REST routes of one python_json engine, over its ScriptHost."""

    def __init__(self, host: ScriptHost, request_stop: Callable[[str], None]):
        self._host = host
        self._request_stop = request_stop
        self._routes: dict[str, Callable[[Any], Any]] = {
            wire.JsonRoute.INITIALIZE: self._initialize,
            wire.JsonRoute.RUN_LOOP: self._run_loop,
            wire.JsonRoute.SET_DATAPACKS: self._set_datapacks,
            wire.JsonRoute.GET_DATAPACKS: self._get_datapacks,
            wire.JsonRoute.RESET: self._reset,
            wire.JsonRoute.SHUTDOWN: self._shutdown,
            wire.JsonRoute.STEP: self._step,
        }
        self._http = HttpServer(self._handle)

    def start(self, serverurl: str, *, free_port_if_taken: bool = True) -> str:
        host, port = split_address(serverurl)
        _, bound_port = self._http.bind(host, port, free_port_if_taken=free_port_if_taken)
        self._http.start()
        return join_address(host, bound_port)

    def stop(self, grace: float) -> None:
        self._http.stop(grace)

    def _handle(self, method: bytes, target: str, body: bytes) -> Response:
        path = target.partition("?")[0]
        route = self._routes.get(path)
        if route is None:
            return Response(404, _dumps(f"no route {path}"))
        if method != b"POST":
            return Response(405, _dumps(f"{path} takes POST, not {method.decode('latin-1')}"))
        action = wire.JsonRoute(path).action
        try:
            result = route(json.loads(body) if body.strip() else None)
            payload = _dumps(result)
        except Exception as exc:
            message = self._host.describe_failure(action, exc)
            log.error("%s", message, exc_info=exc)
            return Response(500, _dumps(message))
        if path == wire.JsonRoute.SHUTDOWN:
            return Response(200, payload, then=lambda: self._request_stop("shutdown request"))
        return Response(200, payload)

    def _initialize(self, config: Any) -> dict:
        self._host.initialize(config)
        return {wire.CAPABILITIES: CAPABILITIES}

    def _run_loop(self, request: Any) -> dict:
        if not isinstance(request, dict) or wire.TIME_STEP not in request:
            raise ValueError(f'{wire.JsonRoute.RUN_LOOP.action} needs {{"{wire.TIME_STEP}": <ns>}}, '
                             f'got {request!r}')
        return {wire.TIME: self._host.run_loop(request[wire.TIME_STEP])}

    def _set_datapacks(self, request: Any) -> None:
        entries = self._entries(request)
        with self._host.script() as script:
            # Check every entry before setting any, so a bad request changes nothing.
            for name in entries:
                script._checkRegistered(name, "set data on")
            for name, entry in entries.items():
                script._setDataPack(name, entry.get(wire.DATAPACK_DATA))

    def _get_datapacks(self, request: Any) -> dict:
        entries = self._entries(request)
        reply = {}
        with self._host.script() as script:
            for name, entry in entries.items():
                data = script._getDataPack(name)
                # The type is opaque (a C++ type name): echo what was asked for.
                out = {wire.ENGINE_NAME: entry[wire.ENGINE_NAME],
                       wire.DATAPACK_TYPE: entry.get(wire.DATAPACK_TYPE, "")}
                if data is not None:
                    out[wire.DATAPACK_DATA] = data
                reply[name] = out
        return reply

    def _step(self, request: Any) -> dict:
        if not isinstance(request, dict):
            raise ValueError(f'{wire.JsonRoute.STEP.action} needs {{"{wire.STEP_SET}": ..., '
                             f'"{wire.TIME_STEP}": <ns>, "{wire.STEP_GET}": ...}}, got {request!r}')
        self._set_datapacks(request.get(wire.STEP_SET))
        time_ns = self._run_loop(request)[wire.TIME]
        return {wire.TIME: time_ns, wire.STEP_DATAPACKS: self._get_datapacks(request.get(wire.STEP_GET))}

    def _reset(self, request: Any) -> None:
        self._host.reset()

    def _shutdown(self, request: Any) -> None:
        self._host.shutdown()

    def _entries(self, request: Any) -> dict[str, dict]:
        if request is None:
            return {}
        if not isinstance(request, dict):
            raise ValueError(f"expected an object of datapacks, got {request!r}")
        for name, entry in request.items():
            if not isinstance(entry, dict):
                raise ValueError(f'datapack "{name}": expected an object, got {entry!r}')
            engine = entry.get(wire.ENGINE_NAME)
            if engine != self._host.engine_name:
                raise ValueError(f'datapack "{name}" is addressed to engine "{engine}", '
                                 f'this is engine "{self._host.engine_name}"')
        return request


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=_jsonable).encode()


def _jsonable(value: Any) -> Any:
    # numpy arrays and scalars, which scripts often put in datapacks.
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def main(argv: list[str] | None = None) -> int:
    return run_engine(argv, prog="nrp-python-json-engine", default_serverurl=DEFAULT_SERVER_URL,
                      script_base=EngineScript, make_server=JsonEngineServer)


if __name__ == "__main__":
    sys.exit(main())
