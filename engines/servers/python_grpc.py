"""The python_grpc engine server: nrp-core's `EngineGrpc.EngineGrpcService` (engines.engine_wire).

    nrp-python-grpc-engine --engine=NAME --serverurl=HOST:PORT [--regservurl=HOST:PORT] [--options=STR]

`initialize` carries the engine config JSON (with "TimeRatio") as a string, `runLoopStep`
returns the engine time in ns, datapacks travel as `DataPackMessage`s whose `data` is a packed
`Any` (absent for an empty datapack). A failure aborts the RPC with INTERNAL and a message
naming the engine, the script's file and line, and the exception.

The server also offers this project's `NrpJupyterEngine.EngineStepService` (set, step and get in
one round trip), announced in the initialize reply.
"""

import functools
import json
import logging
import sys
from collections.abc import Callable
from concurrent import futures

import grpc

from engines import engine_wire as wire
from engines.engine_wire import EngineRpc, engine_messages, step_messages
from engines.servers.cli import join_address, split_address
from engines.servers.runner import run_engine
from engines.servers.script.grpc_script import GrpcEngineScript
from engines.servers.script.script_host import ScriptHost

log = logging.getLogger(__name__)

DEFAULT_SERVER_URL = "localhost:9004"  # EngineGRPC's ServerAddress default
# Script calls are serialised by the ScriptHost; a few workers only let a request that arrives
# during a long runLoop wait for it instead of being refused.
MAX_WORKERS = 4
GRPC_SERVER_OPTIONS = [
    # gRPC sets SO_REUSEPORT by default, which lets a second engine bind a port that is in use
    # (two simulations of one experiment side by side) and share its connections at random.
    ("grpc.so_reuseport", 0),
    # Datapacks such as camera images may exceed gRPC's 4 MB default.
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
]


def reported_rpcs(describe: Callable[[object, str, Exception], str], logger: logging.Logger,
                  quiet: tuple[type[Exception], ...] = ()):
    """Decorators of a servicer's RPC methods, one per action name: any failure of the RPC becomes
    INTERNAL with `describe(servicer, action, exc)` as its message, logged to `logger` with its
    traceback unless it is one of the expected kinds in `quiet`."""

    def reported(action: str):
        def decorate(rpc):
            @functools.wraps(rpc)
            def wrapper(self, request, context):
                try:
                    return rpc(self, request, context)
                except Exception as exc:
                    message = describe(self, action, exc)
                    logger.error("%s", message, exc_info=not isinstance(exc, quiet))
                    context.abort(grpc.StatusCode.INTERNAL, message)

            return wrapper

        return decorate

    return reported


# The host's failure message names the engine, the script and the script's line.
_reported = reported_rpcs(lambda servicer, action, exc: servicer._host.describe_failure(action, exc), log)


# Protocol extensions this server offers, announced in the initialize reply.
CAPABILITIES = [wire.STEP_CAPABILITY]


class EngineGrpcServicer(wire.EngineServiceServicer, wire.StepServiceServicer):
    """The RPCs of one python_grpc engine, over its ScriptHost; the methods carry the RPCs' names."""

    def __init__(self, host: ScriptHost, request_stop: Callable[[str], None]):
        self._host = host
        self._request_stop = request_stop

    @_reported(EngineRpc.INITIALIZE)
    def initialize(self, request, context):
        self._host.initialize(json.loads(request.json))
        return engine_messages.InitializeReply(json=json.dumps({wire.CAPABILITIES: CAPABILITIES}))

    @_reported(EngineRpc.RUN_LOOP_STEP)
    def runLoopStep(self, request, context):
        return engine_messages.RunLoopStepReply(engineTime=self._host.run_loop(request.timeStep))

    @_reported(EngineRpc.SET_DATAPACKS)
    def setDataPacks(self, request, context):
        self._check_engine_names(msg.dataPackId for msg in request.dataPacks)
        with self._host.script() as script:
            for msg in request.dataPacks:
                script._handleDataPackMsg(msg)
        return engine_messages.SetDataPacksReply()

    @_reported(EngineRpc.GET_DATAPACKS)
    def getDataPacks(self, request, context):
        self._check_engine_names(request.datapackIds)
        with self._host.script() as script:
            messages = [script._getDataPackMsg(datapack_id) for datapack_id in request.datapackIds]
        return engine_messages.GetDataPacksReply(dataPacks=messages)

    @_reported(EngineRpc.RESET)
    def reset(self, request, context):
        self._host.reset()
        return engine_messages.ResetReply()

    @_reported(EngineRpc.SHUTDOWN)
    def shutdown(self, request, context):
        self._host.shutdown()
        # Stop only once the reply is on its way: the callback runs when the RPC terminates.
        context.add_callback(lambda: self._request_stop("shutdown request"))
        return engine_messages.ShutdownReply()

    @_reported(wire.STEP_RPC)
    def step(self, request, context):
        self._check_engine_names(msg.dataPackId for msg in request.dataPacks)
        self._check_engine_names(request.datapackIds)
        with self._host.script() as script:
            for msg in request.dataPacks:
                script._handleDataPackMsg(msg)
        engine_time = self._host.run_loop(request.timeStep)
        with self._host.script() as script:
            messages = [script._getDataPackMsg(datapack_id) for datapack_id in request.datapackIds]
        return step_messages.StepReply(engineTime=engine_time, dataPacks=messages)

    def _check_engine_names(self, datapack_ids) -> None:
        for datapack_id in datapack_ids:
            if datapack_id.engineName != self._host.engine_name:
                raise ValueError(f'datapack "{datapack_id.dataPackName}" is addressed to engine '
                                 f'"{datapack_id.engineName}", this is engine "{self._host.engine_name}"')


class GrpcEngineServer:
    """A gRPC server for one EngineGrpcServicer."""

    def __init__(self, host: ScriptHost, request_stop: Callable[[str], None]):
        self._executor = futures.ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="grpc-worker")
        self._server = grpc.server(self._executor, options=GRPC_SERVER_OPTIONS)
        servicer = EngineGrpcServicer(host, request_stop)
        wire.add_engine_service(servicer, self._server)
        wire.add_step_service(servicer, self._server)

    def start(self, serverurl: str, *, free_port_if_taken: bool = True) -> str:
        host, port = split_address(serverurl)
        try:
            bound_port = self._server.add_insecure_port(serverurl)
        except RuntimeError:
            bound_port = 0
        if bound_port == 0 and not free_port_if_taken:
            raise OSError(f"port {port} is taken")
        if bound_port == 0:
            log.warning("cannot bind %s (port in use?); binding a free port instead", serverurl)
            try:
                bound_port = self._server.add_insecure_port(join_address(host, 0))
            except RuntimeError:
                bound_port = 0
            if bound_port == 0:
                raise OSError(f"cannot bind {serverurl}, nor a free port of {host}")
        self._server.start()
        return join_address(host, bound_port)

    def stop(self, grace: float) -> None:
        # The stop event waits for every handler to return, which a stuck script call never does.
        self._server.stop(grace).wait(grace + 0.5)
        self._executor.shutdown(wait=False, cancel_futures=True)


def main(argv: list[str] | None = None) -> int:
    return run_engine(argv, prog="nrp-python-grpc-engine", default_serverurl=DEFAULT_SERVER_URL,
                      script_base=GrpcEngineScript, make_server=GrpcEngineServer)


if __name__ == "__main__":
    sys.exit(main())
