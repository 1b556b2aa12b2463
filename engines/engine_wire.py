"""The engine wire: what NRPCoreSim's engine clients and the engine servers say to each other.

Both sides import every name from here: the clients (`engines.nrpcoresim.protocols`), the engine
servers (`engines.servers`) and the registration server between them. The values are nrp-core 1.4's
bytes, so that its own engine servers and client keep working with ours; change none of them.

**JSON over REST** (python_json, py_sim, nest_json, gazebo_json, nest_server). Every route is a POST
with `Content-Type: application/json`; times are integer ns; an answer other than 200 is a failure
whose body is a JSON string (our servers answer 500, naming the engine, the script's file and line).

| route            | request body                                  | response body                        |
|------------------|-----------------------------------------------|--------------------------------------|
| /initialize      | engine config + "TimeRatio": [1, 1e9]         | null; ours {"Capabilities": ["step"]} |
| /run_loop        | {"time_step": ns}                             | {"time": ns}                         |
| /set_datapacks   | {name: {engine_name, type, data}}             | null                                 |
| /get_datapacks   | {name: {engine_name, type}}                   | {name: {engine_name, type[, data]}}  |
| /reset           | "reset"                                       | null                                 |
| /shutdown        | null                                          | null, then the process exits         |
| /step            | {"set": {...}, "time_step": ns, "get": {...}} | {"time": ns, "datapacks": {...}}     |

A datapack entry without "data" (or with null data) is an empty datapack; "type" is opaque (a C++
type name). `/step` is this project's extension (set, step and get in one round trip), offered by
servers that announce it in their initialize reply; nrp-core's own client ignores that reply.

**Registration.** An engine launched with `--regservurl=HOST:PORT` POSTs, once it serves,

| route | request body                                | response                   |
|-------|---------------------------------------------|----------------------------|
| /     | {"engine_name": NAME, "address": HOST:PORT} | 200 (body ignored)         |

to `http://HOST:PORT/`, which tells the client the port it really bound.

**gRPC** (python_grpc, datatransfer_grpc_engine, ...): nrp-core's `EngineGrpc.EngineGrpcService`
(`nrp_protobuf.engine_grpc_pb2`, the proto verbatim), whose RPCs are `EngineRpc`. The `json` of
initialize is the engine config with "TimeRatio"; reset and shutdown carry `NO_JSON`. A
`DataPackMessage` without `data` is an empty datapack. This project's extension is
`NrpJupyterEngine.EngineStepService.step` (`nrp_protobuf.nrp_jupyter_engine_pb2`), announced as
for JSON.

**Command line.** nrp-core launches an engine as `EngineProcCmd EngineProcStartParams...` followed
by the `LaunchOption`s its engine type takes (engines.nrpcoresim.protocols.engine_arguments).
"""

from __future__ import annotations

from enum import StrEnum

from nrp_protobuf import (engine_grpc_pb2, engine_grpc_pb2_grpc, nrp_jupyter_engine_pb2,
                          nrp_jupyter_engine_pb2_grpc)

# -- JSON over REST -------------------------------------------------------------------------------

JSON_CONTENT_TYPE = "application/json"


class JsonRoute(StrEnum):
    """The routes of a JSON engine server; every one is a POST."""

    INITIALIZE = "/initialize"
    RUN_LOOP = "/run_loop"
    SET_DATAPACKS = "/set_datapacks"
    GET_DATAPACKS = "/get_datapacks"
    RESET = "/reset"
    SHUTDOWN = "/shutdown"
    STEP = "/step"
    """This project's extension: set, step and get in one round trip."""

    @property
    def action(self) -> str:
        """The route's name without its slash ("run_loop"), as failure messages name it."""
        return self.value[1:]


# Keys of the bodies. Times are integer nanoseconds.
TIME_STEP = "time_step"  # /run_loop, /step request: how far to advance
TIME = "time"  # /run_loop, /step reply: the engine's time after the step
ENGINE_NAME = "engine_name"  # a datapack entry's engine; also the registration's engine
DATAPACK_TYPE = "type"  # a datapack entry's type, opaque
DATAPACK_DATA = "data"  # a datapack entry's data; absent or null in an empty datapack
STEP_SET = "set"  # /step request: the /set_datapacks body
STEP_GET = "get"  # /step request: the /get_datapacks body
STEP_DATAPACKS = "datapacks"  # /step reply: the /get_datapacks reply

# The bodies of /reset and /shutdown nrp-core's client sends: the JSON string "reset", and null.
RESET_BODY = "reset"
SHUTDOWN_BODY = None

# -- the initialize request and reply (both protocols) ------------------------------------------

# nrp-core adds its time unit to the engine config it initializes an engine with; engine times are
# integer nanoseconds, the only unit nrp-core's Python engines take.
TIME_RATIO_KEY = "TimeRatio"
TIME_RATIO = [1, 1_000_000_000]
# This project's servers list the extensions they serve in their initialize reply.
CAPABILITIES = "Capabilities"
STEP_CAPABILITY = "step"
# The datatransfer engine's initialize reply also says whether its MQTT broker answered.
MQTT_CONNECTED = "MQTTConnected"

# -- registration ---------------------------------------------------------------------------------

REGISTRATION_ROUTE = "/"
REGISTERED_ADDRESS = "address"  # beside ENGINE_NAME: "host:port" where the engine serves

# -- gRPC -----------------------------------------------------------------------------------------


class EngineRpc(StrEnum):
    """The RPCs of EngineGrpcService, by their proto names (a servicer's methods carry them)."""

    INITIALIZE = "initialize"
    SHUTDOWN = "shutdown"
    RUN_LOOP_STEP = "runLoopStep"
    SET_DATAPACKS = "setDataPacks"
    GET_DATAPACKS = "getDataPacks"
    RESET = "reset"


STEP_RPC = "step"  # EngineStepService's one RPC

# The `json` of shutdown and reset requests. nrp-core's client sends `nlohmann::json().dump()`,
# "null", with shutdown, and an empty ResetRequest with reset, whose "" nrp-core's own python_grpc
# server cannot parse (json.loads("") raises, so the reset fails there). "null" is what every
# server takes: nrp-core's Python servers decode it to None, its C++ servers and ours ignore it.
NO_JSON = "null"

# The generated messages, stubs and servicer bases, under the names both sides use.
engine_messages = engine_grpc_pb2
step_messages = nrp_jupyter_engine_pb2
EngineServiceStub = engine_grpc_pb2_grpc.EngineGrpcServiceStub
EngineServiceServicer = engine_grpc_pb2_grpc.EngineGrpcServiceServicer
add_engine_service = engine_grpc_pb2_grpc.add_EngineGrpcServiceServicer_to_server
StepServiceStub = nrp_jupyter_engine_pb2_grpc.EngineStepServiceStub
StepServiceServicer = nrp_jupyter_engine_pb2_grpc.EngineStepServiceServicer
add_step_service = nrp_jupyter_engine_pb2_grpc.add_EngineStepServiceServicer_to_server

# -- command line ---------------------------------------------------------------------------------


class LaunchOption(StrEnum):
    """The options nrp-core appends to an engine's command line, written `--name=value`."""

    ENGINE = "engine"  # EngineName
    SERVER_URL = "serverurl"  # HOST:PORT to serve on
    REGISTRATION_URL = "regservurl"  # HOST:PORT of the registration server
    OPTIONS = "options"  # ServerOptions (python_json, py_sim)
    PROTOBUF_PLUGINS_PATH = "protobuf_plugins_path"  # gRPC engines other than python_grpc
    PROTOBUF_PLUGINS = "protobuf_plugins"  # ProtobufPackages as a JSON list

    @property
    def flag(self) -> str:
        return f"--{self.value}"

    def argument(self, value: object) -> str:
        """`--name=value`."""
        return f"--{self.value}={value}"
