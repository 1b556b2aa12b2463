"""nrp_core.engines.python_json.server_callbacks and python_grpc.grpc_server_callbacks: nrp-core's
engine servers as module functions, with what nrp-core's return and raise (its engine-server unit
tests run unchanged against them in tests/interop/test_real_engine_servers.py)."""

import sys

import pytest

import nrp_core.engines.python_grpc.grpc_server_callbacks as grpc_callbacks
import nrp_core.engines.python_json.server_callbacks as json_callbacks
from nrp_core.data.nrp_json import JsonDataPack
from nrp_protobuf import dump_pb2, engine_grpc_pb2

RATIO = [1, 1_000_000_000]

JSON_SCRIPT = '''
from nrp_core.engines.python_json.engine_script import EngineScript

class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("dp")
        self.seen_at_reset = None

    def runLoop(self, timestep_ns):
        pass

    def reset(self):
        self.seen_at_reset = self._time_ns
        if self._config.get("fail_reset"):
            raise RuntimeError("Reset failed")
'''

GRPC_SCRIPT = '''
from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2

class Script(GrpcEngineScript):
    def initialize(self):
        self._registerDataPack("dp", dump_pb2.String)

    def runLoop(self, timestep_ns):
        pass
'''


@pytest.fixture
def script_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))

    def write(source, name):
        (tmp_path / name).write_text(source)
        return name

    return write


def json_config(python_file, **extra):
    return {"PythonFileName": python_file, "TimeRatio": RATIO, "EngineName": "e1", **extra}


def test_json_callbacks_return_what_nrp_core_returns(script_file):
    config = json_config(script_file(JSON_SCRIPT, "cb_json_a.py"))
    assert json_callbacks.initialize(config) is None
    assert json_callbacks.script._config is config and json_callbacks.get_engine_name() == "e1"
    assert json_callbacks.run_loop({"time_step": 5}) == {"time": 5}
    assert json_callbacks.run_loop({"time_step": 5}) == {"time": 10}
    # An unset datapack still has its "data" key, as None.
    assert json_callbacks.get_datapacks({"dp": {"engine_name": "e1", "type": "t"}}) == {
        "dp": {"engine_name": "e1", "type": JsonDataPack.getType(), "data": None}}
    json_callbacks.set_datapacks({"dp": {"engine_name": "e1", "type": JsonDataPack.getType(), "data": {"x": 1}}})
    assert json_callbacks.get_datapack("dp")["data"] == {"x": 1}
    assert json_callbacks.get_datapacks({}) == {} and json_callbacks.set_datapacks({}) is None
    assert json_callbacks.reset("reset") is None
    assert (json_callbacks.script.seen_at_reset, json_callbacks.script._time_ns) == (10, 0)
    assert json_callbacks.shutdown(None) is None


def test_a_failed_reset_keeps_the_time(script_file):
    json_callbacks.initialize(json_config(script_file(JSON_SCRIPT, "cb_json_b.py"), fail_reset=True))
    json_callbacks.run_loop({"time_step": 7})
    with pytest.raises(RuntimeError, match="Reset failed"):
        json_callbacks.reset({})
    assert json_callbacks.script._time_ns == 7


@pytest.mark.parametrize("request_json, message", [
    ({"dp": {"engine_name": "e1", "data": 1}}, "Malformed DataPack"),
    ({"dp": {"engine_name": "e1", "type": "other", "data": 1}}, "Unable to set datapacks of type 'other'"),
    ({"nope": {"engine_name": "e1", "type": JsonDataPack.getType(), "data": 1}},
     r"Attempting to set data on an unregistered DataPack \(nope\)"),
])
def test_json_set_datapacks_refuses_as_nrp_core(script_file, request_json, message):
    json_callbacks.initialize(json_config(script_file(JSON_SCRIPT, "cb_json_c.py")))
    with pytest.raises(Exception, match=message):
        json_callbacks.set_datapacks(request_json)


def test_json_initialize_refuses_other_time_units_and_foreign_scripts(script_file):
    with pytest.raises(Exception, match="PythonJSONEngine only support nanoseconds"):
        json_callbacks.initialize(json_config("unused.py", TimeRatio=[1, 1000]))
    with pytest.raises(Exception, match="Script class must inherit from EngineScript class"):
        json_callbacks.initialize(json_config(script_file(GRPC_SCRIPT, "cb_json_d.py")))
    with pytest.raises(Exception, match="Requesting DataPack 'dp' from incorrect engine"):
        json_callbacks.initialize(json_config(script_file(JSON_SCRIPT, "cb_json_e.py")))
        json_callbacks.get_datapacks({"dp": {"engine_name": "other", "type": "t"}})


def test_grpc_callbacks_return_what_nrp_core_returns(script_file):
    grpc_callbacks.initialize(json_config(script_file(GRPC_SCRIPT, "cb_grpc_a.py")))
    assert grpc_callbacks.run_loop(4) == 4
    message = engine_grpc_pb2.DataPackMessage()
    message.dataPackId.dataPackName, message.dataPackId.engineName = "dp", "e1"
    message.data.Pack(dump_pb2.String(string_stream="hi"))
    assert grpc_callbacks.set_datapacks(engine_grpc_pb2.SetDataPacksRequest(dataPacks=[message])) is None
    request = engine_grpc_pb2.GetDataPacksRequest()
    request.datapackIds.add(dataPackName="dp", engineName="e1")
    reply = grpc_callbacks.get_datapacks(request)
    value = dump_pb2.String()
    assert isinstance(reply, engine_grpc_pb2.GetDataPacksReply) and reply.dataPacks[0].data.Unpack(value)
    assert value.string_stream == "hi"
    grpc_callbacks.reset(None)
    assert grpc_callbacks.script._time_ns == 0
    with pytest.raises(Exception, match="PythonGRPCEngine only support nanoseconds"):
        grpc_callbacks.initialize(json_config("unused.py", TimeRatio=[1, 1000]))
