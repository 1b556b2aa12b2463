"""The datatransfer engine as a process: gRPC in, MQTT (a real mosquitto) and files out."""

import grpc
import pytest

from nrp_protobuf import dump_pb2, engine_grpc_pb2, engine_grpc_pb2_grpc, nrp_jupyter_engine_pb2
from nrp_protobuf import nrp_jupyter_engine_pb2_grpc
from nrp_protobuf import nrpgenericproto_pb2, wrappers_pb2
from tests.engines.servers.datatransfer.conftest import (ENGINE, datapack, datatransfer_config, initialize, set_datapacks,
                                                 step)
from tests.nrp_jupyter.mqtt_helpers import Mosquitto, Subscriber, mosquitto_executable
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)

BASE = "nrp_simulation/7"
DUMPS = [{"name": "speed", "network": True, "file": True},
         {"name": "clock", "network": True},
         {"name": "log", "file": True}]


def data_files(directory):
    (run,) = list(directory.iterdir())  # one <timestamp> folder per initialize
    return {path.name: path.read_text() for path in run.iterdir()}


def test_datapacks_are_streamed_indexed_and_dumped(tmp_path, start_datatransfer, stub, mosquitto, subscriber):
    engine = start_datatransfer()
    client = stub(engine.address)
    reply = initialize(client, datatransfer_config(mosquitto.address, tmp_path / "data", dumps=DUMPS))
    assert reply == {"Capabilities": ["step"], "MQTTConnected": True}
    assert subscriber.wait_for(f"{BASE}/welcome").payload == b"NRP-core is connected!"
    index = subscriber.wait_for(f"{BASE}/data").json()
    assert index == [{"topic": f"{BASE}/data/speed", "type": ""}, {"topic": f"{BASE}/data/clock", "type": ""}]

    for value in (1.5, 2.5, 3.5):
        set_datapacks(client, datapack("speed", wrappers_pb2.DoubleValue(value=value)),
                      datapack("clock", nrpgenericproto_pb2.ArrayDouble(array=[value, 2 * value], shape=[2])),
                      datapack("log", dump_pb2.String(string_stream=f"at {value}")))
        step(client)

    messages = [subscriber.wait_for(f"{BASE}/data/speed", lambda m, v=v: _double(m.payload) == v)
                for v in (1.5, 2.5, 3.5)]
    assert [m.at for m in messages] == sorted(m.at for m in messages)
    clock = engine_grpc_pb2.DataPackMessage.FromString(subscriber.wait_for(f"{BASE}/data/clock").payload)
    assert clock.dataPackId.dataPackName == "clock" and clock.dataPackId.engineName == ENGINE
    unpacked = nrpgenericproto_pb2.ArrayDouble()
    assert clock.data.Unpack(unpacked) and list(unpacked.array) == [1.5, 3.0]
    typed = subscriber.wait_for(f"{BASE}/data", lambda m: all(entry["type"] for entry in m.json()))
    assert typed.json() == [{"topic": f"{BASE}/data/speed", "type": "EngineGrpc.DataPackMessage"},
                            {"topic": f"{BASE}/data/clock", "type": "EngineGrpc.DataPackMessage"}]
    # The file-only datapack never goes to MQTT.
    assert not [m for m in subscriber.received() if m.topic.endswith("/log")]

    files = data_files(tmp_path / "data")
    assert set(files) == {"speed.data", "log.data"}
    # Engine time is 0, 10 and 20 ms when the datapacks arrive (each step comes after the set).
    assert files["speed.data"] == "sim_time,value\n0,1.5\n0.01,2.5\n0.02,3.5\n"
    assert files["log.data"] == "0.000000,at 1.5\n0.010000,at 2.5\n0.020000,at 3.5\n"


def test_stream_data_only_publishes_the_bare_message_and_its_type(tmp_path, start_datatransfer, stub, mosquitto,
                                                                   subscriber):
    client = stub(start_datatransfer().address)
    initialize(client, datatransfer_config(mosquitto.address, tmp_path / "data", streamDataPackMessage=False,
                                           dumps=[{"name": "speed", "network": True}]))
    set_datapacks(client, datapack("speed", wrappers_pb2.DoubleValue(value=4.25)))
    assert _bare_double(subscriber.wait_for(f"{BASE}/data/speed").payload) == 4.25
    index = subscriber.wait_for(f"{BASE}/data", lambda m: m.json()[0]["type"]).json()
    assert index == [{"topic": f"{BASE}/data/speed", "type": "Wrappers.DoubleValue"}]
    assert not (tmp_path / "data").exists()  # nothing is dumped to files, so no folder is made


def test_reset_restarts_files_and_says_reset_and_shutdown_says_goodbye(tmp_path, start_datatransfer, stub,
                                                                        mosquitto, subscriber):
    engine = start_datatransfer()
    client = stub(engine.address)
    initialize(client, datatransfer_config(mosquitto.address, tmp_path / "data",
                                           dumps=[{"name": "speed", "network": True, "file": True}]))
    set_datapacks(client, datapack("speed", wrappers_pb2.DoubleValue(value=1.0)))
    assert step(client) == 10_000_000
    client.reset(engine_grpc_pb2.ResetRequest(), timeout=10)
    assert subscriber.wait_for(f"{BASE}/data/speed", lambda m: m.payload == b"reset")
    set_datapacks(client, datapack("speed", wrappers_pb2.DoubleValue(value=2.0)))
    assert step(client) == 10_000_000  # time starts again at 0

    assert data_files(tmp_path / "data") == {"speed.data": "sim_time,value\n0,1.0\n",
                                             "speed-1.data": "sim_time,value\n0,2.0\n"}
    client.shutdown(engine_grpc_pb2.ShutdownRequest(), timeout=10)
    assert engine.wait_exit() == 0
    assert subscriber.wait_for(f"{BASE}/welcome", lambda m: m.payload.startswith(b"Bye")).payload == \
        b"Bye! NRP-core is disconnecting!"
    # The index is cleared; the goodbye stays for late subscribers.
    assert subscriber.wait_for(f"{BASE}/data", lambda m: m.payload == b"")


def test_step_extension_sets_steps_and_answers_empty_datapacks(tmp_path, start_datatransfer, mosquitto, subscriber):
    engine = start_datatransfer()
    with grpc.insecure_channel(engine.address) as channel:
        initialize(engine_grpc_pb2_grpc.EngineGrpcServiceStub(channel),
                   datatransfer_config(mosquitto.address, tmp_path / "data", dumps=[{"name": "speed", "network": True}]))
        stepper = nrp_jupyter_engine_pb2_grpc.EngineStepServiceStub(channel)
        request = nrp_jupyter_engine_pb2.StepRequest(
            dataPacks=[datapack("speed", wrappers_pb2.DoubleValue(value=9.0))], timeStep=5_000_000,
            datapackIds=[datapack("speed").dataPackId])
        reply = stepper.step(request, timeout=10)
    assert reply.engineTime == 5_000_000
    assert [m.dataPackId.dataPackName for m in reply.dataPacks] == ["speed"]
    assert not reply.dataPacks[0].HasField("data")  # a datatransfer datapack holds no information
    assert _double(subscriber.wait_for(f"{BASE}/data/speed").payload) == 9.0


@pytest.mark.parametrize("dumps, sent, expected", [
    (DUMPS, "unlisted", 'datapack "unlisted" is not in the dumps of this engine (registered: clock, log, speed)'),
    ([{"name": "quiet"}], "quiet", 'datapack "quiet" is in dumps without network or file'),
])
def test_a_datapack_the_dumps_do_not_register_is_refused_by_name(tmp_path, start_datatransfer, stub, mosquitto,
                                                                 dumps, sent, expected):
    engine = start_datatransfer()
    client = stub(engine.address)
    initialize(client, datatransfer_config(mosquitto.address, tmp_path / "data", dumps=dumps))
    with pytest.raises(grpc.RpcError) as refused:
        set_datapacks(client, datapack(sent, wrappers_pb2.DoubleValue(value=1.0)))
    assert refused.value.code() == grpc.StatusCode.INTERNAL
    assert f'Engine "{ENGINE}": setDataPacks failed' in refused.value.details()
    assert expected in refused.value.details()
    if sent == "quiet":
        assert 'dumps entry "quiet" has neither network nor file set' in engine.stderr()


@pytest.mark.parametrize("change, key", [
    ({"MQTTBroker": "localhost:notaport"}, "MQTTBroker"),
    ({"MQTTPrefix": "a/#"}, "MQTTPrefix"),
    ({"simulationID": "1/2"}, "simulationID"),
    ({"streamDataPackMessage": "yes"}, "streamDataPackMessage"),
    ({"dumps": [{"name": "a", "network": True}, {"name": "a", "file": True}]}, "dumps[1].name"),
    ({"dumps": [{"name": "a", "network": 1}]}, "dumps[0].network"),
    ({"dumps": [{"network": True}]}, "dumps[0].name"),
    ({"dumps": {"name": "a"}}, "dumps"),
])
def test_a_bad_config_fails_initialize_naming_the_key(tmp_path, start_datatransfer, stub, change, key):
    client = stub(start_datatransfer().address)
    config = datatransfer_config("127.0.0.1:1", tmp_path / "data", **change)
    with pytest.raises(grpc.RpcError) as refused:
        initialize(client, config)
    assert refused.value.code() == grpc.StatusCode.INTERNAL
    assert f'Engine "{ENGINE}": initialize failed: DataTransferConfigError: {key}: ' in refused.value.details()


def test_a_data_directory_that_cannot_be_written_fails_initialize_naming_it(tmp_path, start_datatransfer, stub):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where the data folder should be")
    client = stub(start_datatransfer().address)
    with pytest.raises(grpc.RpcError) as refused:
        initialize(client, datatransfer_config("127.0.0.1:1", blocker, dumps=[{"name": "a", "file": True}]))
    assert "dataDirectory: cannot write" in refused.value.details()
    assert str(blocker) in refused.value.details()


def test_a_broker_down_at_initialize_is_warned_about_and_streaming_starts_when_it_comes_up(
        tmp_path, start_datatransfer, stub):
    port = free_port()
    engine = start_datatransfer()
    client = stub(engine.address)
    reply = initialize(client, datatransfer_config(f"127.0.0.1:{port}", tmp_path / "data",
                                                   dumps=[{"name": "speed", "network": True, "file": True}]))
    assert reply["MQTTConnected"] is False
    assert f"MQTT broker 127.0.0.1:{port} (MQTTBroker) is unreachable" in engine.stderr()

    # Without a broker, datapacks are dropped at once: every step returns while there is no broker
    # at all (one that waited for it would wait past the test's timeout), and the file has them all.
    for index in range(50):
        set_datapacks(client, datapack("speed", wrappers_pb2.DoubleValue(value=float(index))))
        step(client)
    assert data_files(tmp_path / "data")["speed.data"].count("\n") == 51  # header + 50 lines

    broker = Mosquitto(mosquitto_executable(), tmp_path / "mosquitto.log", port=port)
    broker.start()
    try:
        with Subscriber(broker.address, ["#"]) as late:
            late.wait_subscribed()
            assert late.wait_for(f"{BASE}/welcome", timeout=10).payload == b"NRP-core is connected!"

            def streamed():
                # The engine reconnects on its own time: keep sending until one datapack gets through.
                set_datapacks(client, datapack("speed", wrappers_pb2.DoubleValue(value=99.0)))
                return late.received(f"{BASE}/data/speed")

            eventually(streamed, 10, "a datapack streamed after the broker came up", every_s=0.05)
            assert _double(late.received(f"{BASE}/data/speed")[0].payload) == 99.0
    finally:
        broker.stop()


def test_datapacks_addressed_to_another_engine_and_calls_before_initialize_are_refused(tmp_path, start_datatransfer,
                                                                                       stub, mosquitto):
    client = stub(start_datatransfer().address)
    with pytest.raises(grpc.RpcError) as early:
        step(client)
    assert "the engine is not initialized" in early.value.details()
    initialize(client, datatransfer_config(mosquitto.address, tmp_path / "data", dumps=DUMPS))
    with pytest.raises(grpc.RpcError) as misaddressed:
        set_datapacks(client, datapack("speed", wrappers_pb2.DoubleValue(value=1.0), engine="python_1"))
    assert 'addressed to engine "python_1", this is engine "datatransfer_engine"' in misaddressed.value.details()


def test_sigterm_says_goodbye_and_exits_cleanly(tmp_path, start_datatransfer, stub, mosquitto, subscriber):
    engine = start_datatransfer()
    initialize(stub(engine.address), datatransfer_config(mosquitto.address, tmp_path / "data", dumps=DUMPS))
    subscriber.wait_for(f"{BASE}/welcome")
    engine.proc.terminate()
    assert engine.wait_exit() == 0
    assert subscriber.wait_for(f"{BASE}/welcome", lambda m: m.payload.startswith(b"Bye"))


def _double(payload: bytes) -> float:
    message = engine_grpc_pb2.DataPackMessage.FromString(payload)
    value = wrappers_pb2.DoubleValue()
    assert message.data.Unpack(value)
    return value.value


def _bare_double(payload: bytes) -> float:
    return wrappers_pb2.DoubleValue.FromString(payload).value

