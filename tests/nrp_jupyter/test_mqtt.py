import re
import socket
import threading
import time

import pytest

from engines.mqtt import topics
from engines.mqtt.publisher import MqttPublisher, parse_broker

from tests.ports import free_port
from tests.waiting import eventually

from .mqtt_helpers import HOST, Subscriber, late_subscriber_sees, wait_retained

MARKER = "test/marker"


class Publisher:
    """An MqttPublisher that records its connection changes; stopped at the end of the test."""

    def __init__(self, address: str, prefix: str = "") -> None:
        self.changes: list[bool] = []
        self.changed = threading.Condition()
        self.mqtt = MqttPublisher(address, topics.client_id(prefix, "test"), on_connection_change=self._changed)

    def _changed(self, connected: bool) -> None:
        with self.changed:
            self.changes.append(connected)
            self.changed.notify_all()

    def wait_connected(self, connected: bool = True, timeout: float = 5.0) -> None:
        """Wait until on_connection_change last reported `connected`."""
        with self.changed:
            if not self.changed.wait_for(lambda: self.changes and self.changes[-1] is connected, timeout):
                raise AssertionError(f"publisher not {'connected' if connected else 'disconnected'} "
                                     f"within {timeout} s; changes {self.changes}")
        assert self.mqtt.connected is connected


@pytest.fixture
def make_publisher():
    made = []

    def make(address: str, prefix: str = "") -> Publisher:
        publisher = Publisher(address, prefix)
        made.append(publisher)
        return publisher

    yield make
    for publisher in made:
        publisher.mqtt.stop()


@pytest.fixture
def connected(running_broker, make_publisher):
    """A started, connected publisher on a running broker, with a retained marker for late subscribers."""
    publisher = make_publisher(running_broker.address)
    publisher.mqtt.start()
    publisher.wait_connected()
    publisher.mqtt.publish(MARKER, "here", retain=True)
    return publisher


# parse_broker


@pytest.mark.timeout(5)
@pytest.mark.parametrize("address, expected", [
    ("localhost:1884", ("localhost", 1884)),
    ("broker.example.org", ("broker.example.org", 1883)),
    ("10.0.0.2", ("10.0.0.2", 1883)),
    ("[::1]:1883", ("::1", 1883)),
    ("[::1]", ("::1", 1883)),
    ("::1", ("::1", 1883)),
    ("mqtt://host:2000", ("host", 2000)),
    ("mqtt://host", ("host", 1883)),
    ("mqtt://[fe80::1]:1999/", ("fe80::1", 1999)),
    ("  host:1  ", ("host", 1)),
])
def test_parse_broker_accepts(address, expected):
    assert parse_broker(address) == expected


@pytest.mark.timeout(5)
@pytest.mark.parametrize("address", [
    "", ":1883", "host:", "host:0", "host:65536", "host:port", "host:1:2", "[::1", "[::1]x", "[nothost]:1",
    "mqtts://host:8883", "ws://host", "mqtt://host/path", "user@host", "host:-1", "mqtt://",
])
def test_parse_broker_refuses(address):
    with pytest.raises(ValueError, match=re.escape(repr(address))):
        parse_broker(address)
    with pytest.raises(ValueError):
        MqttPublisher(address, "x")


# Publishing without a broker


@pytest.mark.timeout(10)
def test_unstarted_or_stopped_publisher_drops_without_raising():
    publisher = MqttPublisher(f"{HOST}:{free_port()}", "never-started")
    assert not publisher.connected
    publisher.publish("a/b", {"x": 1})
    publisher.publish("a/r", "kept", retain=True)
    publisher.clear_retained("a/r")
    assert publisher.dropped == 1
    publisher.stop()
    publisher.stop()
    publisher.publish("a/b", b"late")
    assert publisher.dropped == 2


@pytest.mark.timeout(5)
@pytest.mark.parametrize("topic", ["", "a/+/b", "a/#", "a\0b"])
def test_publish_refuses_wildcard_topics(topic):
    with pytest.raises(ValueError, match="topic"):
        MqttPublisher("localhost", "x").publish(topic, "p")


@pytest.mark.timeout(5)
def test_publish_refuses_unknown_payload_types():
    with pytest.raises(TypeError, match="payload"):
        MqttPublisher("localhost", "x").publish("a", 1.5)


# Against real brokers (each test runs on mosquitto and on the embedded amqtt)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("prefix", ["", "nrp"])
def test_status_and_runtime_error_arrive_as_json(running_broker, make_publisher, prefix):
    status_topic = topics.status(prefix, 3)
    error_topic = topics.runtime_error(prefix, 3)
    with Subscriber(running_broker.address, [topics.simulation_base(prefix, 3) + "/#"]) as subscriber:
        subscriber.wait_subscribed()
        publisher = make_publisher(running_broker.address, prefix)
        publisher.mqtt.start()
        publisher.wait_connected()
        status = {"realTime": 1.5, "simulationTime": 1.0, "state": "started", "simulationTimeLeft": 9.0}
        error = {"sim_id": "3", "msg": "boom", "error_type": "Runtime", "fileName": "main_script.py",
                 "line_number": -1, "offset": -1, "line_text": ""}
        publisher.mqtt.publish(status_topic, status)
        publisher.mqtt.publish(error_topic, error, qos=1)
        assert subscriber.wait_for(status_topic).json() == status
        assert subscriber.wait_for(error_topic).json() == error
        expected = f"{prefix}/nrp_simulation/3/status" if prefix else "nrp_simulation/3/status"
        assert status_topic == expected
    assert publisher.mqtt.dropped == 0


@pytest.mark.timeout(20)
def test_str_and_bytes_payloads_are_sent_as_they_are(running_broker, connected):
    with Subscriber(running_broker.address, ["raw/#"]) as subscriber:
        subscriber.wait_subscribed()
        connected.mqtt.publish("raw/text", "NRP-core is connected!")
        connected.mqtt.publish("raw/bytes", b"\x00\x01\xff", qos=1)
        assert subscriber.wait_for("raw/text").payload == b"NRP-core is connected!"
        assert subscriber.wait_for("raw/bytes").payload == b"\x00\x01\xff"


@pytest.mark.timeout(20)
def test_retained_message_reaches_a_late_subscriber_and_clear_retained_removes_it(running_broker, connected):
    topic = topics.data("", 5)
    connected.mqtt.publish(topic, [{"topic": "nrp_simulation/5/data/x", "type": ""}], retain=True, qos=1)
    seen = wait_retained(running_broker.address, topic, MARKER)
    assert seen.json() == [{"topic": "nrp_simulation/5/data/x", "type": ""}]

    with Subscriber(running_broker.address, [topic]) as live:
        live.wait_subscribed()
        live.wait_for(topic, lambda m: m.retain)
        connected.mqtt.clear_retained(topic)
        # Subscribers already there are told too: an empty payload.
        live.wait_for(topic, lambda m: m.payload == b"")
    assert late_subscriber_sees(running_broker.address, topic, MARKER) is None


@pytest.mark.timeout(30)
def test_publisher_started_while_the_broker_is_down(any_broker, make_publisher):
    # How long start() and publish() take without a broker is measured by benchmarks/mqtt_publisher.py.
    publisher = make_publisher(any_broker.address)
    publisher.mqtt.start()
    assert not publisher.mqtt.connected

    status_topic, data_topic = topics.status("", 1), topics.data("", 1)
    for tick in range(200):
        publisher.mqtt.publish(status_topic, {"state": "created", "tick": tick}, qos=tick % 2)
    publisher.mqtt.publish(data_topic, [{"topic": "first", "type": ""}], retain=True)
    publisher.mqtt.publish(data_topic, [{"topic": "second", "type": ""}], retain=True)
    publisher.mqtt.publish(MARKER, "here", retain=True)
    publisher.mqtt.publish("to/clear", "stale", retain=True)
    publisher.mqtt.clear_retained("to/clear")
    assert publisher.mqtt.dropped == 200

    any_broker.start()
    publisher.wait_connected(timeout=5)
    assert publisher.changes == [True]
    seen = wait_retained(any_broker.address, data_topic, MARKER)
    assert seen.json() == [{"topic": "second", "type": ""}]
    assert late_subscriber_sees(any_broker.address, "to/clear", MARKER) is None

    with Subscriber(any_broker.address, [status_topic]) as subscriber:
        subscriber.wait_subscribed()
        publisher.mqtt.publish(status_topic, {"state": "paused"})
        assert subscriber.wait_for(status_topic).json() == {"state": "paused"}
    assert publisher.mqtt.dropped == 200


@pytest.mark.timeout(40)
def test_publishing_resumes_by_itself_after_a_broker_restart(running_broker, connected):
    status_topic, lifecycle_topic = topics.status("", 2), topics.lifecycle("", 2)
    sync = {"source_node": "backend", "source_state": "created", "event": "initialized", "target_state": "paused"}
    connected.mqtt.publish(lifecycle_topic, sync, retain=True)
    stop_ticking = threading.Event()
    ticks = 0

    def tick() -> None:
        # The server's status timer: it keeps publishing whatever the broker does (how long each
        # publish takes around the restart is measured by benchmarks/mqtt_publisher.py).
        nonlocal ticks
        while not stop_ticking.is_set():
            connected.mqtt.publish(status_topic, {"tick": ticks, "at": time.monotonic()})
            ticks += 1
            stop_ticking.wait(0.02)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        with Subscriber(running_broker.address, [status_topic]) as subscriber:
            subscriber.wait_for(status_topic)
            running_broker.kill()
            connected.wait_connected(False)
            time.sleep(0.5)  # the behaviour under test: a real outage, during which ticks are dropped
            running_broker.start()
            restarted = time.monotonic()
            subscriber.wait_for(status_topic, lambda m: m.json()["at"] > restarted, timeout=10)
            connected.wait_connected()
    finally:
        stop_ticking.set()
        ticker.join()
    assert connected.mqtt.dropped > 0
    assert connected.changes == [True, False, True]
    assert wait_retained(running_broker.address, lifecycle_topic, MARKER).json() == sync
    sock = connected.mqtt._client.socket()
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest.mark.timeout(20)
def test_stop_while_disconnected_returns_quickly(any_broker, make_publisher):
    publisher = make_publisher(any_broker.address)
    publisher.mqtt.start()
    # Its first connect failed: the network thread is in its reconnect back-off, which stop() does not
    # wait out (benchmarks/mqtt_publisher.py measures how long it takes).
    eventually(lambda: publisher.mqtt._failures > 0, 5, "no connect attempt failed")
    publisher.mqtt.stop()
    assert not publisher.mqtt.connected
    publisher.mqtt.stop()
    publisher.mqtt.publish("a", "after stop")


@pytest.mark.timeout(20)
def test_stop_disconnects_and_is_idempotent(running_broker, connected):
    connected.mqtt.stop()
    assert not connected.mqtt.connected
    assert connected.changes == [True, False]
    connected.mqtt.stop()
    connected.mqtt.publish("a", "after stop")
    with pytest.raises(RuntimeError):
        connected.mqtt.start()


@pytest.mark.timeout(20)
def test_tcp_nodelay_is_set_on_the_socket(running_broker, connected):
    sock = connected.mqtt._client.socket()
    assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


@pytest.mark.timeout(20)
def test_publish_from_many_threads(running_broker, connected):
    topic = "many/threads"
    with Subscriber(running_broker.address, [topic]) as subscriber:
        subscriber.wait_subscribed()

        def send(worker: int) -> None:
            for index in range(50):
                connected.mqtt.publish(topic, {"worker": worker, "index": index}, qos=1)

        workers = [threading.Thread(target=send, args=(worker,)) for worker in range(4)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        subscriber.wait_for(topic, lambda m: len(subscriber.received(topic)) >= 200, timeout=10)
        got = {(m.json()["worker"], m.json()["index"]) for m in subscriber.received(topic)}
        assert got == {(worker, index) for worker in range(4) for index in range(50)}


@pytest.mark.timeout(60)
def test_a_hung_broker_bounds_what_waits_to_be_sent(mosquitto, make_publisher):
    publisher = make_publisher(mosquitto.address)
    publisher.mqtt.start()
    publisher.wait_connected()
    mosquitto.freeze()
    try:
        payload = b"x" * 4096
        # About 200 MB: far past what the socket buffers hold, so the rest must wait or be dropped.
        for _ in range(50_000):
            publisher.mqtt.publish("stream/data", payload)
        assert publisher.mqtt.dropped > 40_000
        assert publisher.mqtt._unsent <= 1000
    finally:
        mosquitto.thaw()
    topic = "after/thaw"
    with Subscriber(mosquitto.address, [topic]) as subscriber:
        subscriber.wait_subscribed()
        # Once the backlog drains, new messages go through again.
        eventually(lambda: published_and_received(publisher, subscriber, topic), 30,
                   "publishing did not resume after the broker recovered", every_s=0)


def published_and_received(publisher: Publisher, subscriber: Subscriber, topic: str) -> bool:
    publisher.mqtt.publish(topic, "again")
    try:
        subscriber.wait_for(topic, timeout=0.2)
        return True
    except AssertionError:
        return False
