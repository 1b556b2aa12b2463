"""`nrp_core.engines.python_grpc.grpc_server_callbacks`: nrp-core's python_grpc engine as
functions, one per RPC, over one engine script per process (`script`).

nrp-core's gRPC server calls these with the decoded JSON of initialize, reset and shutdown, the
time step of runLoopStep, and the protobuf requests of setDataPacks and getDataPacks; they raise
on any failure. Every `initialize` loads the config's PythonFileName afresh and replaces `script`.
"""

from engines.servers.script import script_calls
from nrp_core.engines.python_grpc.grpc_engine_script import GrpcEngineScript
from nrp_protobuf import engine_grpc_pb2

ENGINE_KIND = "PythonGRPCEngine"

script: GrpcEngineScript | None = None


def get_engine_name() -> str:
    return script._getEngineName()


def initialize(request_json: dict) -> None:
    """Loads the Script class of request_json["PythonFileName"] and runs its initialize()."""
    global script
    script_calls.check_time_ratio(request_json, ENGINE_KIND)
    script = script_calls.new_script(request_json, GrpcEngineScript)
    script.initialize()
    script_calls.flush_std()


def run_loop(time_step: int) -> int:
    return script_calls.advance(script, time_step)


def set_datapacks(request_grpc: engine_grpc_pb2.SetDataPacksRequest) -> None:
    for datapack in request_grpc.dataPacks:
        set_datapack(datapack)


def set_datapack(datapack: engine_grpc_pb2.DataPackMessage) -> None:
    script._handleDataPackMsg(datapack)


def get_registered_datapack_names() -> list:
    return script._getRegisteredDataPackNames()


def get_datapacks(request_grpc: engine_grpc_pb2.GetDataPacksRequest) -> engine_grpc_pb2.GetDataPacksReply:
    return engine_grpc_pb2.GetDataPacksReply(dataPacks=[get_datapack(i) for i in request_grpc.datapackIds])


def get_datapack(datapack_id: engine_grpc_pb2.DataPackIdentifier) -> engine_grpc_pb2.DataPackMessage:
    return script._getDataPackMsg(datapack_id)


def reset(request_json) -> None:
    script_calls.reset(script)
    script_calls.flush_std()


def shutdown(request_json) -> None:
    if script is not None:
        script.shutdown()
    script_calls.flush_std()
