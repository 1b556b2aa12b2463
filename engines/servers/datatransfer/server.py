"""The datatransfer engine server: nrp-core's `datatransfer_grpc_engine` over EngineGrpcService.

    nrp-datatransfer-engine --engine=NAME --serverurl=HOST:PORT [--regservurl=HOST:PORT]

It has no script: `initialize` reads the engine config (engines.servers.datatransfer.config) and opens the
dumps, `setDataPacks` streams and/or dumps each datapack (engines.servers.datatransfer.transfer),
`runLoopStep` only advances the engine's time (the time written to the data files), `reset` starts
the files anew and sends "reset" on each stream, `shutdown` says goodbye on MQTT. Like the
python_grpc server it also serves the one-round-trip `step`, and a failure aborts the RPC with
INTERNAL and a message naming the engine.

The process life (command line, registration, signals, parent watch, exit) is the shared
`runner.run_engine`; its ScriptHost stays empty, since there is no script, and the transfer is
closed when the server stops.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable
from concurrent import futures

import grpc

from engines import engine_wire as wire
from engines.engine_wire import EngineRpc, engine_messages, step_messages
from engines.errors import EngineError
from engines.servers.datatransfer.config import DataTransferConfig
from engines.servers.datatransfer.transfer import DataTransfer
from engines.servers.python_grpc import CAPABILITIES, GRPC_SERVER_OPTIONS, GrpcEngineServer, reported_rpcs
from engines.servers.runner import run_engine
from engines.servers.script.script_base import ScriptBase
from engines.servers.script.script_host import EngineStateError, ScriptHost

log = logging.getLogger(__name__)

DEFAULT_SERVER_URL = "localhost:9004"  # EngineGRPC's ServerAddress default
# Calls are serialised by the engine's lock; a second worker lets a shutdown in while a call runs.
MAX_WORKERS = 2


# Failures name the engine; refusals of bad input (names, config keys, files) need no traceback.
_reported = reported_rpcs(
    lambda servicer, action, exc: str(EngineError(servicer.engine_name,
                                                  f"{action} failed: {type(exc).__name__}: {exc}")),
    log, quiet=(LookupError, ValueError, OSError))


class DataTransferServicer(wire.EngineServiceServicer, wire.StepServiceServicer):
    """The RPCs of one datatransfer engine."""

    def __init__(self, engine_name: str, request_stop: Callable[[str], None]):
        self.engine_name = engine_name
        self._request_stop = request_stop
        self._lock = threading.Lock()
        self._transfer: DataTransfer | None = None
        self._time_ns = 0
        self._shut_down = False

    @_reported(EngineRpc.INITIALIZE)
    def initialize(self, request, context):
        config = json.loads(request.json)
        with self._lock:
            if self._shut_down:
                raise EngineStateError("initialize after shutdown")
            if self._transfer is not None:
                raise EngineStateError("the engine is already initialized")
            if not isinstance(config, dict):
                raise ValueError(f"the initialize request must be the engine config object, got {config!r}")
            if config.get(wire.TIME_RATIO_KEY, wire.TIME_RATIO) != wire.TIME_RATIO:
                raise ValueError(f"{wire.TIME_RATIO_KEY} must be {wire.TIME_RATIO} (integer nanoseconds), "
                                 f"got {config.get(wire.TIME_RATIO_KEY)!r}")
            transfer = DataTransfer(self.engine_name, DataTransferConfig.from_engine_config(config))
            connected = transfer.start()
            self._transfer = transfer
        return engine_messages.InitializeReply(json=json.dumps({wire.CAPABILITIES: CAPABILITIES,
                                                                wire.MQTT_CONNECTED: connected}))

    @_reported(EngineRpc.RUN_LOOP_STEP)
    def runLoopStep(self, request, context):
        with self._lock:
            return engine_messages.RunLoopStepReply(engineTime=self._advance(request.timeStep))

    @_reported(EngineRpc.SET_DATAPACKS)
    def setDataPacks(self, request, context):
        with self._lock:
            self._handle(request.dataPacks)
        return engine_messages.SetDataPacksReply()

    @_reported(EngineRpc.GET_DATAPACKS)
    def getDataPacks(self, request, context):
        with self._lock:
            return engine_messages.GetDataPacksReply(dataPacks=self._empty(request.datapackIds))

    @_reported(EngineRpc.RESET)
    def reset(self, request, context):
        with self._lock:
            self._initialized().reset()
            self._time_ns = 0
        return engine_messages.ResetReply()

    @_reported(EngineRpc.SHUTDOWN)
    def shutdown(self, request, context):
        with self._lock:
            if self._shut_down:
                raise EngineStateError("the engine has shut down")
            self._shut_down = True
            transfer = self._transfer
        if transfer is not None:
            transfer.close()
        # Stop only once the reply is on its way: the callback runs when the RPC terminates.
        context.add_callback(lambda: self._request_stop("shutdown request"))
        return engine_messages.ShutdownReply()

    @_reported(wire.STEP_RPC)
    def step(self, request, context):
        with self._lock:
            self._handle(request.dataPacks)
            engine_time = self._advance(request.timeStep)
            datapacks = self._empty(request.datapackIds)
        return step_messages.StepReply(engineTime=engine_time, dataPacks=datapacks)

    def close(self) -> None:
        """Close the transfer when the process is stopped from outside (signal, parent gone)."""
        with self._lock:
            self._shut_down = True
            transfer = self._transfer
        if transfer is not None:
            transfer.close()

    # The helpers run with the lock held.

    def _initialized(self) -> DataTransfer:
        if self._shut_down:
            raise EngineStateError("the engine has shut down")
        if self._transfer is None:
            raise EngineStateError("the engine is not initialized")
        return self._transfer

    def _advance(self, time_step: int) -> int:
        self._initialized()
        if time_step < 0:
            raise ValueError(f"timeStep must be a non-negative number of nanoseconds, got {time_step}")
        self._time_ns += time_step
        return self._time_ns

    def _handle(self, messages) -> None:
        transfer = self._initialized()
        self._check_engine_names(message.dataPackId for message in messages)
        for message in messages:
            transfer.handle(message, self._time_ns)

    def _empty(self, datapack_ids) -> list:
        transfer = self._initialized()
        self._check_engine_names(datapack_ids)
        return [transfer.empty_datapack(datapack_id) for datapack_id in datapack_ids]

    def _check_engine_names(self, datapack_ids) -> None:
        for datapack_id in datapack_ids:
            if datapack_id.engineName != self.engine_name:
                raise ValueError(f'datapack "{datapack_id.dataPackName}" is addressed to engine '
                                 f'"{datapack_id.engineName}", this is engine "{self.engine_name}"')


class DataTransferServer(GrpcEngineServer):
    """The python_grpc server's binding and stopping, around a DataTransferServicer."""

    def __init__(self, host: ScriptHost, request_stop: Callable[[str], None]):
        # Not GrpcEngineServer.__init__: that one serves a script; the rest of the class is reused.
        self._executor = futures.ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="grpc-worker")
        self._server = grpc.server(self._executor, options=GRPC_SERVER_OPTIONS)
        self.servicer = DataTransferServicer(host.engine_name, request_stop)
        wire.add_engine_service(self.servicer, self._server)
        wire.add_step_service(self.servicer, self._server)

    def stop(self, grace: float) -> None:
        self.servicer.close()
        super().stop(grace)


def main(argv: list[str] | None = None) -> int:
    return run_engine(argv, prog="nrp-datatransfer-engine", default_serverurl=DEFAULT_SERVER_URL,
                      script_base=ScriptBase, make_server=DataTransferServer)


if __name__ == "__main__":
    sys.exit(main())
