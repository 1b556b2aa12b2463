"""The python_grpc engine server, driven through raw EngineGrpcService stubs."""

import json

import grpc
import pytest

from nrp_protobuf import dump_pb2, engine_grpc_pb2, engine_grpc_pb2_grpc, nrp_jupyter_engine_pb2, wrappers_pb2
from nrp_protobuf import nrp_jupyter_engine_pb2_grpc
from tests.engines.servers import scripts
from tests.engines.servers.conftest import engine_config

STEP = 10_000_000


@pytest.fixture
def grpc_stub():
    channels = []

    def connect(address: str) -> engine_grpc_pb2_grpc.EngineGrpcServiceStub:
        channels.append(grpc.insecure_channel(address))
        return engine_grpc_pb2_grpc.EngineGrpcServiceStub(channels[-1])

    yield connect
    for channel in channels:
        channel.close()


def initialize(stub, **config):
    config = engine_config(EngineType="python_grpc", ProtobufPackages=["Dump"], **config)
    return stub.initialize(engine_grpc_pb2.InitializeRequest(json=json.dumps(config)), timeout=10)


@pytest.fixture
def grpc_engine(tmp_path, start_engine, grpc_stub):
    (tmp_path / "engine.py").write_text(scripts.GRPC_TF_EXCHANGE)
    engine = start_engine("grpc")
    stub = grpc_stub(engine.address)
    initialize(stub)
    return engine, stub


def ids(*names, engine="python_1", type_=""):
    return engine_grpc_pb2.GetDataPacksRequest(datapackIds=[
        engine_grpc_pb2.DataPackIdentifier(dataPackName=name, engineName=engine, dataPackType=type_)
        for name in names])


def dump_string(msg: engine_grpc_pb2.DataPackMessage) -> str:
    value = dump_pb2.String()
    assert msg.data.Unpack(value)
    return value.string_stream


def rec_message(payload=None, name="rec"):
    msg = engine_grpc_pb2.DataPackMessage(
        dataPackId=engine_grpc_pb2.DataPackIdentifier(dataPackName=name, engineName="python_1",
                                                      dataPackType="Dump.String"))
    if payload is not None:
        msg.data.Pack(payload)
    return engine_grpc_pb2.SetDataPacksRequest(dataPacks=[msg])


def expect_internal(call, *expected):
    with pytest.raises(grpc.RpcError) as raised:
        call()
    assert raised.value.code() == grpc.StatusCode.INTERNAL
    details = raised.value.details()
    assert 'Engine "python_1"' in details
    for text in expected:
        assert text in details
    return details


@pytest.mark.timeout(30)
def test_tf_exchange_engine_steps_publishes_and_shuts_down(tmp_path, grpc_engine):
    engine, stub = grpc_engine
    reply = stub.getDataPacks(ids("datapack1", type_="Dump.String"))
    assert reply.dataPacks[0].dataPackId == ids("datapack1", type_="Dump.String").datapackIds[0]
    assert json.loads(dump_string(reply.dataPacks[0])) == {"time": 0, "timestep": 0}

    assert stub.runLoopStep(engine_grpc_pb2.RunLoopStepRequest(timeStep=STEP)).engineTime == STEP
    assert stub.runLoopStep(engine_grpc_pb2.RunLoopStepRequest(timeStep=STEP)).engineTime == 2 * STEP
    reply = stub.getDataPacks(ids("datapack1"))
    assert json.loads(dump_string(reply.dataPacks[0])) == {"time": 2 * STEP, "timestep": STEP}

    stub.reset(engine_grpc_pb2.ResetRequest())
    reply = stub.getDataPacks(ids("datapack1"))
    assert json.loads(dump_string(reply.dataPacks[0])) == {"time": 0, "timestep": 0}

    stub.shutdown(engine_grpc_pb2.ShutdownRequest())
    assert engine.wait_exit() == 0
    assert (tmp_path / "shutdown_called").exists()
    assert "Traceback" not in engine.stderr()


@pytest.mark.timeout(30)
def test_set_datapacks_and_empty_datapacks(grpc_engine):
    _, stub = grpc_engine
    stub.setDataPacks(rec_message(dump_pb2.String(string_stream="hello")))
    assert dump_string(stub.getDataPacks(ids("rec")).dataPacks[0]) == "hello"
    # A message without data is an empty datapack: nothing to unpack, the value stays.
    stub.setDataPacks(rec_message())
    assert dump_string(stub.getDataPacks(ids("rec")).dataPacks[0]) == "hello"
    assert len(stub.getDataPacks(engine_grpc_pb2.GetDataPacksRequest()).dataPacks) == 0


@pytest.mark.timeout(30)
def test_datapack_of_the_wrong_protobuf_type(grpc_engine):
    _, stub = grpc_engine
    expect_internal(lambda: stub.setDataPacks(rec_message(wrappers_pb2.Int32Value(value=3))),
                    "setDataPacks failed", "DataPack (rec) is of type Dump.String",
                    "received Wrappers.Int32Value")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("call, expected", [
    (lambda stub: stub.getDataPacks(ids("datapack1", engine="python_2")),
     'datapack "datapack1" is addressed to engine "python_2", this is engine "python_1"'),
    (lambda stub: stub.getDataPacks(ids("nope")),
     "[python_1] Attempting to get data from an unregistered DataPack (nope)"),
    (lambda stub: stub.setDataPacks(rec_message(dump_pb2.String(), name="nope")),
     "[python_1] While handling Datapack Message. Unregistered DataPack (nope)"),
    (lambda stub: stub.runLoopStep(engine_grpc_pb2.RunLoopStepRequest(timeStep=-5)), "non-negative integer"),
    (lambda stub: initialize(stub), "already initialized"),
], ids=["wrong-engine", "get-unregistered", "set-unregistered", "negative-step", "initialize-twice"])
def test_bad_requests_abort_with_internal(grpc_engine, call, expected):
    _, stub = grpc_engine
    expect_internal(lambda: call(stub), expected, "engine.py")


@pytest.mark.timeout(30)
def test_runloop_failure_names_file_and_line(grpc_engine):
    _, stub = grpc_engine
    stub.setDataPacks(rec_message(dump_pb2.String(string_stream="fail")))
    expect_internal(lambda: stub.runLoopStep(engine_grpc_pb2.RunLoopStepRequest(timeStep=STEP)),
                    "runLoopStep failed in engine.py, line 15, in runLoop", "ValueError: asked to fail")


@pytest.mark.timeout(30)
@pytest.mark.parametrize("source, config, expected", [
    (scripts.GRPC_SYNTAX_ERROR, {}, ["engine.py, line 5", "SyntaxError"]),
    (scripts.TF_EXCHANGE, {}, ["Script class must inherit from GrpcEngineScript class"]),
    (scripts.GRPC_TF_EXCHANGE, {"TimeRatio": [1, 1_000_000]}, ["TimeRatio must be [1, 1000000000]"]),
], ids=["syntax-error", "json-base", "wrong-time-ratio"])
def test_initialize_rejects(tmp_path, start_engine, grpc_stub, source, config, expected):
    (tmp_path / "engine.py").write_text(source)
    stub = grpc_stub(start_engine("grpc").address)
    expect_internal(lambda: initialize(stub, **config), "initialize failed", *expected)


@pytest.mark.timeout(30)
def test_initialize_announces_the_step_extension_which_sets_steps_and_gets(tmp_path, start_engine, grpc_stub):
    (tmp_path / "engine.py").write_text(scripts.GRPC_TF_EXCHANGE)
    engine = start_engine("grpc")
    stub = grpc_stub(engine.address)
    assert json.loads(initialize(stub).json) == {"Capabilities": ["step"]}
    step_stub = nrp_jupyter_engine_pb2_grpc.EngineStepServiceStub(grpc.insecure_channel(engine.address))

    request = nrp_jupyter_engine_pb2.StepRequest(dataPacks=rec_message(dump_pb2.String(string_stream="x")).dataPacks,
                                                 timeStep=STEP, datapackIds=ids("datapack1", "rec").datapackIds)
    reply = step_stub.step(request, timeout=10)

    assert reply.engineTime == STEP
    assert json.loads(dump_string(reply.dataPacks[0])) == {"time": STEP, "timestep": STEP}
    assert dump_string(reply.dataPacks[1]) == "x"
    failing = nrp_jupyter_engine_pb2.StepRequest(dataPacks=rec_message(dump_pb2.String(string_stream="fail")).dataPacks,
                                                 timeStep=STEP)
    with pytest.raises(grpc.RpcError) as caught:
        step_stub.step(failing, timeout=10)
    assert caught.value.code() == grpc.StatusCode.INTERNAL and "asked to fail" in caught.value.details()
