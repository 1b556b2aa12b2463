"""The datapack stream: datatransfer engines' MQTT data, decoded and batched by the server's data bridge,
pushed to the /events WebSocket as {"simulationID", "topic": "data/<datapack>", "payload"}."""

import base64
import json
import logging
import threading
import time

import paho.mqtt.client as mqtt
import pytest

from nrp_jupyter.server.data_bridge import DataBridge
from engines.mqtt.publisher import parse_broker
from nrp_jupyter.server.status_publisher import StatusPublisher
from nrp_protobuf import engine_grpc_pb2, nrpgenericproto_pb2, wrappers_pb2
from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.nrp_jupyter.mqtt_helpers import set_nodelay
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(60)


class Listener:
    """A StatusPublisher listener keeping the datapack batches, with the time each was flushed."""

    def __init__(self):
        self.batches = []
        self._arrived = threading.Condition()

    def __call__(self, simulation_id, topic, payload):
        with self._arrived:
            self.batches.append((time.monotonic(), simulation_id, topic, payload))
            self._arrived.notify_all()

    def samples(self, simulation_id, datapack):
        with self._arrived:
            return [sample for _, sim, topic, payload in self.batches if sim == simulation_id
                    and topic == f"data/{datapack}" for sample in payload["samples"]]

    def wait_for(self, condition, what, timeout=10.0):
        """Waits until a batch arrives after which `condition()` holds."""
        with self._arrived:
            if not self._arrived.wait_for(condition, timeout):
                raise AssertionError(f"not within {timeout} s: {what()}")

    def wait_samples(self, simulation_id, datapack, count, timeout=10.0):
        self.wait_for(lambda: len(self.samples(simulation_id, datapack)) >= count,
                      lambda: f"{len(self.samples(simulation_id, datapack))} of {count} samples of {datapack} arrived",
                      timeout)
        return self.samples(simulation_id, datapack)


class Publisher:
    """A plain paho client publishing as a datatransfer engine would."""

    def __init__(self, address):
        host, port = parse_broker(address)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-pub-{time.monotonic_ns()}")
        self.client.on_socket_open = set_nodelay
        self.client.connect(host, port)
        self.client.loop_start()

    def publish(self, topic, payload, retain=False):
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def datapack(self, topic, value):
        message = engine_grpc_pb2.DataPackMessage()
        message.dataPackId.dataPackName = topic.rpartition("/")[2]
        message.data.Pack(value)
        self.publish(topic, message.SerializeToString())

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def bridge_factory(broker, background_loop):
    bridges = []

    def make(prefix="", **options):
        listener = Listener()
        publisher = StatusPublisher(None, prefix, "test-node")
        publisher.add_listener(listener)
        bridge = DataBridge(broker.address, prefix, publisher, background_loop.loop, **options)
        bridge.start()
        bridges.append(bridge)
        assert bridge.subscribed.wait(5), "the bridge did not subscribe"
        return bridge, listener

    yield make
    for bridge in bridges:
        bridge.stop()


@pytest.fixture
def engine_side(broker):
    publisher = Publisher(broker.address)
    yield publisher
    publisher.close()


def test_datapacks_reach_the_listeners_as_numbered_samples(bridge_factory, engine_side):
    bridge, listener = bridge_factory()
    engine_side.publish("nrp_simulation/3/data", json.dumps([{"topic": "nrp_simulation/3/data/speed",
                                                              "type": "EngineGrpc.DataPackMessage"}]), retain=True)
    for value in (0.5, 1.5, 2.5, 3.5):
        engine_side.datapack("nrp_simulation/3/data/speed", wrappers_pb2.DoubleValue(value=value))
        engine_side.datapack("nrp_simulation/3/data/clock",
                             nrpgenericproto_pb2.ArrayDouble(array=[value, -value], shape=[2]))

    speed = listener.wait_samples(3, "speed", 4)
    assert [sample["values"] for sample in speed] == [{"value": v} for v in (0.5, 1.5, 2.5, 3.5)]
    times = [sample["time"] for sample in speed]
    assert times[0] >= 0 and times == sorted(times)
    clock = listener.wait_samples(3, "clock", 4)
    assert clock[-1]["values"] == {"array[0]": 3.5, "array[1]": -3.5}
    (_, simulation_id, topic, payload) = listener.batches[0]
    assert simulation_id == 3 and topic in ("data/speed", "data/clock")
    assert set(payload) == {"datapack", "type", "samples"}
    kinds = {(p["datapack"], p["type"]) for _, _, _, p in listener.batches}
    assert kinds == {("speed", "Wrappers.DoubleValue"), ("clock", "NrpGenericProto.ArrayDouble")}
    json.dumps([p for _, _, _, p in listener.batches])  # the WebSocket sends them as JSON


def test_bare_data_is_decoded_with_the_type_from_the_index(bridge_factory, engine_side):
    bridge, listener = bridge_factory()
    engine_side.publish("nrp_simulation/4/data", json.dumps([{"topic": "nrp_simulation/4/data/flag",
                                                              "type": "Wrappers.BoolValue"}]), retain=True)
    engine_side.publish("nrp_simulation/4/data/flag", wrappers_pb2.BoolValue(value=True).SerializeToString())
    assert listener.wait_samples(4, "flag", 1)[0]["values"] == {"value": 1.0}


def test_only_the_latest_image_of_a_batch_is_sent(bridge_factory, engine_side):
    bridge, listener = bridge_factory(flush_interval_s=0.5)
    for shade in (b"\x10", b"\x20", b"\x30"):
        image = nrpgenericproto_pb2.Image(width=2, height=2, step=2, type=nrpgenericproto_pb2.MONO8, data=shade * 4)
        engine_side.datapack("nrp_simulation/5/data/eye", image)
    last_image = base64.b64encode(b"\x30" * 4).decode()
    listener.wait_for(lambda: any(p.get("image", {}).get("data") == last_image for _, _, _, p in listener.batches),
                      lambda: "the last image never arrived")
    for _, _, _, payload in listener.batches:
        assert payload["samples"] == []
        assert payload["image"]["encoding"] == "mono8" and payload["image"]["width"] == 2


def test_flushes_are_spaced_and_batches_bounded(bridge_factory, engine_side):
    bridge, listener = bridge_factory(flush_interval_s=0.2, max_batch_samples=10)
    count = 300
    for value in range(count):
        engine_side.datapack("nrp_simulation/6/data/n", wrappers_pb2.Int32Value(value=value))
    listener.wait_for(lambda: len(listener.samples(6, "n")) + bridge.dropped >= count,
                      lambda: f"{len(listener.samples(6, 'n'))} samples and {bridge.dropped} dropped of {count}")
    flushed = [at for at, *_ in listener.batches]
    # The behaviour under test is the bridge's own timer ("at most every flush_interval_s"), a lower
    # bound that load cannot break: a timer never fires early by more than the loop's clock resolution.
    assert all(later - earlier >= 0.2 - 0.01 for earlier, later in zip(flushed, flushed[1:]))
    assert all(len(payload["samples"]) <= 10 for *_, payload in listener.batches)
    values = [sample["values"]["value"] for sample in listener.samples(6, "n")]
    assert values == sorted(values) and values[-1] == count - 1  # the newest samples are kept


def test_malformed_payloads_are_logged_and_skipped_and_the_bridge_goes_on(bridge_factory, engine_side, caplog):
    caplog.set_level(logging.DEBUG, logger="nrp_jupyter.server.data_bridge")
    bridge, listener = bridge_factory()
    engine_side.publish("nrp_simulation/8/data", b"{not json", retain=True)
    engine_side.publish("nrp_simulation/8/data/speed", b"\xff\xfe garbage")
    engine_side.publish("nrp_simulation/8/data/speed", b"\xff\xfe more garbage")
    engine_side.publish("nrp_simulation/8/data/speed", b"reset")  # the engine's reset: not a datapack
    engine_side.publish("nrp_simulation/not_a_number/data/speed", b"ignored")
    engine_side.datapack("nrp_simulation/8/data/speed", wrappers_pb2.DoubleValue(value=7.0))

    assert listener.wait_samples(8, "speed", 1)[0]["values"] == {"value": 7.0}
    assert bridge.undecodable == 3
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("nrp_simulation/8/data:" in w and "not a JSON list" in w for w in warnings)
    # One warning per topic; the repeats are debug messages.
    assert len([w for w in warnings if "nrp_simulation/8/data/speed" in w]) == 1
    assert "not a DataPackMessage" in [w for w in warnings if "data/speed" in w][0]


def test_a_prefix_narrows_the_bridge_to_its_own_topics(bridge_factory, engine_side):
    bridge, listener = bridge_factory(prefix="lab/a")
    assert bridge.filters == ["lab/a/nrp_simulation/+/data", "lab/a/nrp_simulation/+/data/#"]
    engine_side.datapack("nrp_simulation/1/data/speed", wrappers_pb2.DoubleValue(value=1.0))
    engine_side.datapack("lab/b/nrp_simulation/1/data/speed", wrappers_pb2.DoubleValue(value=2.0))
    engine_side.datapack("lab/a/nrp_simulation/1/data/speed", wrappers_pb2.DoubleValue(value=3.0))
    # The broker keeps one publisher's order: had the bridge taken the others, they would have been
    # flushed before or with the last one.
    listener.wait_for(lambda: {"value": 3.0} in [sample["values"] for sample in listener.samples(1, "speed")],
                      lambda: f"lab/a's datapack did not arrive; got {listener.samples(1, 'speed')}")
    assert [sample["values"] for sample in listener.samples(1, "speed")] == [{"value": 3.0}]


# -- through the server ------------------------------------------------------------------------


@pytest.fixture
def experiments_root(jp_root_dir):
    root = jp_root_dir / "experiments"
    root.mkdir()
    copy_experiment_folder(EXPERIMENTS / "tf_exchange_datatransfer", root / "tf_exchange_datatransfer", ignore=("data",))
    return root


class Received:
    def __init__(self):
        self.messages = []

    def __call__(self, text):
        if text is not None:
            self.messages.append(json.loads(text))

    def samples(self, simulation_id, datapack):
        return [sample for message in self.messages if message["simulationID"] == simulation_id
                and message["topic"] == f"data/{datapack}" for sample in message["payload"]["samples"]]


async def test_a_launched_experiment_streams_its_datapacks_to_the_events_socket(nrp, jp_serverapp, jp_ws_fetch):
    bridge = jp_serverapp.extension_manager.extension_points["nrp_jupyter"].app._data_bridge
    await eventually_async(bridge.subscribed.is_set, 20, what="the data bridge's subscription")
    received = Received()
    connection = await jp_ws_fetch("nrp", "events", on_message_callback=received)
    code, launched, _ = await nrp.launch("tf_exchange_datatransfer")
    assert code == 201, launched
    simulation_id = launched["simulationID"]
    assert (await nrp.put_state(simulation_id, "started"))[0] == 200
    # 100 steps of 10 ms: the TF sends engine 1's time at every sync.
    await eventually_async(lambda: len(received.samples(simulation_id, "engine_time")) >= 100, 20,
                           what="100 engine_time samples on the socket")
    await nrp.wait_state(simulation_id, "completed")
    connection.close()

    values = [sample["values"]["value"] for sample in received.samples(simulation_id, "engine_time")]
    assert values == pytest.approx([step / 100 for step in range(100)])
    times = [sample["time"] for sample in received.samples(simulation_id, "engine_time")]
    assert times == sorted(times)
    clock = received.samples(simulation_id, "engine_clock")
    assert clock[-1]["values"] == pytest.approx({"array[0]": 0.99, "array[1]": 0.01})
    data_messages = [m for m in received.messages if m["topic"].startswith("data/")]
    assert {m["payload"]["type"] for m in data_messages} == {"Wrappers.DoubleValue", "NrpGenericProto.ArrayDouble"}
    # The file-only datapack is not streamed, so it never reaches the socket.
    assert not received.samples(simulation_id, "time_array")
