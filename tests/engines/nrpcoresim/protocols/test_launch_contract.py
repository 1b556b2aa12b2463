"""What the orchestrator says to engines where nrp-core 1.4 fixes it: the arguments each engine
type is launched with, the bodies of reset and shutdown, the address a gRPC engine is given.
nrp-core's own servers refuse anything else (tests/interop/test_real_engine_servers.py runs them)."""

import json
import socket
from concurrent import futures

import grpc
import pytest

from engines.nrpcoresim.launchers import EmptyLaunchCommand
from engines.nrpcoresim.protocols.engine_arguments import (default_plugins_path, grpc_engine_arguments, json_engine_arguments,
                                                registers_its_port)
from engines.nrpcoresim.protocols.grpc_client import GrpcEngineClient
from engines.nrpcoresim.protocols.port_claim import claim_server_address
from engines.servers.cli import parse_args
from nrp_protobuf import engine_grpc_pb2, engine_grpc_pb2_grpc


def engine(engine_type, **extra):
    return {"EngineName": "e1", "EngineType": engine_type, "ServerAddress": "localhost:9004", **extra}


@pytest.mark.parametrize("engine_type, options", [("python_json", ["--options="]), ("py_sim", ["--options="]),
                                                  ("nest_json", [])])
def test_json_engines_get_name_address_registration_and_python_ones_options_even_empty(engine_type, options):
    assert json_engine_arguments(engine(engine_type), "localhost:9001") == [
        "--engine=e1", "--serverurl=localhost:9004", "--regservurl=localhost:9001", *options]


def test_server_options_pass_verbatim():
    config = engine("python_json", ServerOptions="{'timeout': 600}")
    assert json_engine_arguments(config, "r:1")[-1] == "--options={'timeout': 600}"


def test_python_grpc_gets_only_name_and_address():
    assert grpc_engine_arguments(engine("python_grpc", ProtobufPackages=["Dump"]), "localhost:4321") == [
        "--engine=e1", "--serverurl=localhost:4321"]


def test_other_grpc_engines_also_get_the_protobuf_plugins():
    arguments = grpc_engine_arguments(engine("datatransfer_grpc_engine", ProtobufPackages=["Dump", "Wrappers"]),
                                      "localhost:4321")
    assert arguments == ["--engine=e1", "--serverurl=localhost:4321",
                         f"--protobuf_plugins_path={default_plugins_path()}", '--protobuf_plugins=["Dump","Wrappers"]']
    configured = engine("datatransfer_grpc_engine", ProtobufPluginsPath="/opt/plugins", ProtobufPackages=[])
    assert grpc_engine_arguments(configured, "h:1")[2:] == ["--protobuf_plugins_path=/opt/plugins",
                                                           "--protobuf_plugins=[]"]


@pytest.mark.parametrize("command, registers", [
    (["nrp-python-grpc-engine"], True),
    (["/venv/bin/nrp-datatransfer-engine"], True),
    (["python", "-m", "engines.servers.python_grpc"], True),
    (["python_grpc_engine.py"], False),
    (["python3", "/checkout/python_grpc_engine.py"], False),
    (["python", "-m", "some.other_server"], False),
])
def test_only_this_projects_engine_programs_are_offered_registration(command, registers):
    assert registers_its_port(command) is registers


def test_our_servers_accept_every_argument_nrp_core_passes():
    args = parse_args(["--engine=e1", "--serverurl=localhost:1", "--options=", "--protobuf_plugins_path=/x",
                       '--protobuf_plugins=["Dump"]'], prog="test", default_serverurl="localhost:9")
    assert (args.engine, args.serverurl, args.regservurl, args.unknown) == ("e1", "localhost:1", None, ())


def test_a_free_address_is_kept_and_a_taken_one_moves_to_a_free_port_of_its_host():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.listen()
        moved = claim_server_address("e1", f"127.0.0.1:{port}")
    host, _, new_port = moved.rpartition(":")
    assert host == "127.0.0.1" and int(new_port) != port
    assert claim_server_address("e1", moved) == moved


class Recorder(engine_grpc_pb2_grpc.EngineGrpcServiceServicer):
    def __init__(self):
        self.requests = {}

    def reset(self, request, context):
        self.requests["reset"] = request
        return engine_grpc_pb2.ResetReply()

    def shutdown(self, request, context):
        self.requests["shutdown"] = request
        return engine_grpc_pb2.ShutdownReply()


@pytest.mark.timeout(30)
def test_grpc_reset_and_shutdown_carry_json_null():
    # nrp-core's python_grpc server does json.loads(request.json) on both: "" would fail there.
    recorder = Recorder()
    server = grpc.server(futures.ThreadPoolExecutor(2))
    engine_grpc_pb2_grpc.add_EngineGrpcServiceServicer_to_server(recorder, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    address = f"127.0.0.1:{port}"
    config = {**engine("python_grpc"), "ServerAddress": address}
    client = GrpcEngineClient(config, EmptyLaunchCommand("e1", address), None)
    try:
        client.connect(10)
        client.reset()
        client.shutdown()
    finally:
        client.close()
        server.stop(None)
    assert json.loads(recorder.requests["reset"].json) is None
    assert json.loads(recorder.requests["shutdown"].json) is None
