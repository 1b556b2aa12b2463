"""The engine wire's names against what they name: the protos' services, the servers that serve them,
and the route table of its docstring."""

import re

import pytest

from engines import engine_wire as wire
from engines.servers.datatransfer.server import DataTransferServicer
from engines.servers.python_grpc import EngineGrpcServicer
from engines.servers.python_json import JsonEngineServer


def test_the_rpc_names_are_the_protos():
    engine_service = wire.engine_messages.DESCRIPTOR.services_by_name["EngineGrpcService"]
    assert {method.name for method in engine_service.methods} == set(wire.EngineRpc)
    step_service = wire.step_messages.DESCRIPTOR.services_by_name["EngineStepService"]
    assert [method.name for method in step_service.methods] == [wire.STEP_RPC]


@pytest.mark.parametrize("servicer", [EngineGrpcServicer, DataTransferServicer])
def test_the_grpc_servers_implement_every_rpc_themselves(servicer):
    for rpc in [*wire.EngineRpc, wire.STEP_RPC]:
        # The generated base answers UNIMPLEMENTED; a server must override each method.
        assert getattr(servicer, rpc) is not getattr(wire.EngineServiceServicer, rpc, None)
        assert getattr(servicer, rpc) is not getattr(wire.StepServiceServicer, rpc, None)


def test_the_json_server_serves_every_route_of_the_table():
    documented = re.findall(r"^\| (/\w+) ", wire.__doc__, flags=re.MULTILINE)
    assert documented == [str(route) for route in wire.JsonRoute]
    server = JsonEngineServer(host=None, request_stop=lambda why: None)
    try:
        # Every route is known (a GET is refused as a GET), and nothing else is.
        for route in wire.JsonRoute:
            assert server._handle(b"GET", route, b"").status == 405
        assert server._handle(b"POST", "/run", b"").status == 404
    finally:
        server.stop(0)


def test_launch_options_are_written_as_nrp_core_writes_them():
    assert wire.LaunchOption.SERVER_URL.argument("localhost:9002") == "--serverurl=localhost:9002"
    assert wire.LaunchOption.PROTOBUF_PLUGINS.flag == "--protobuf_plugins"
