"""The /events WebSocket: the same messages the server publishes on MQTT, pushed as
`{"simulationID", "topic", "payload"}`, for clients that cannot reach the broker."""

import json
import logging
import socket

import pytest

from tests.nrp_jupyter.conftest import wait_message
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(90)


class Received:
    """A socket's on_message_callback: keeps the decoded messages in order. (Not a list: tornado
    tests the callback's truth, and an empty list is false.)"""

    def __init__(self):
        self.messages = []
        self.closed = False

    def __call__(self, text):
        if text is None:
            self.closed = True
        else:
            self.messages.append(json.loads(text))

    def __iter__(self):
        return iter(self.messages)

    def of(self, simulation_id, kind):
        return [message["payload"] for message in self.messages
                if message["simulationID"] == simulation_id and message["topic"].endswith(f"/{kind}")]

    def has_state(self, simulation_id, state):
        return any(payload.get("state") == state for payload in self.of(simulation_id, "status"))


@pytest.fixture
def publisher(jp_serverapp):
    return jp_serverapp.web_app.settings["nrp_publisher"]


async def mqtt_connected(publisher):
    """Returns once the server's MQTT publisher is connected: it drops plain messages while it is
    not, which would make MQTT miss what the socket gets."""
    await eventually_async(lambda: publisher._mqtt.connected, 10, what="the server's MQTT connection")


def listeners(publisher):
    return set(publisher._listeners)


def dedupe(states):
    return [state for index, state in enumerate(states) if index == 0 or states[index - 1] != state]


async def test_the_socket_gets_the_status_messages_mqtt_gets(nrp, subscriber, publisher, jp_ws_fetch):
    await mqtt_connected(publisher)
    received = Received()
    connection = await jp_ws_fetch("nrp", "events", on_message_callback=received)
    code, launched, _ = await nrp.launch("slow_exchange")
    assert code == 201, launched
    simulation_id = launched["simulationID"]
    prefix = f"nrp_simulation/{simulation_id}"
    assert (await nrp.put_state(simulation_id, "started"))[0] == 200
    await wait_message(subscriber, f"{prefix}/status",
                       lambda m: m.get("state") == "started" and m["simulationTime"] > 0)
    assert (await nrp.put_state(simulation_id, "stopped"))[0] == 200
    await wait_message(subscriber, f"{prefix}/status", lambda m: m.get("state") == "stopped")
    await wait_message(subscriber, f"{prefix}/lifecycle", lambda m: m.get("target_state") == "stopped")
    await eventually_async(lambda: received.has_state(simulation_id, "stopped"), 10,
                           what="the stopped status on the socket")
    connection.close()

    assert received.messages
    assert all(set(message) == {"simulationID", "topic", "payload"} for message in received)
    assert {message["simulationID"] for message in received} == {simulation_id}
    on_socket, on_mqtt = {}, {}
    for message in received:
        on_socket.setdefault(message["topic"], []).append(message["payload"])
    for message in subscriber.received():
        # An empty retained message only clears the lifecycle topic on the broker.
        if message.topic.startswith(f"{prefix}/") and message.payload:
            on_mqtt.setdefault(message.topic, []).append(message.json())
    assert set(on_socket) == {f"{prefix}/status", f"{prefix}/lifecycle"}
    assert on_socket == on_mqtt

    states = dedupe([payload["state"] for payload in on_socket[f"{prefix}/status"] if "state" in payload])
    assert states in (["paused", "started", "stopped"], ["created", "paused", "started", "stopped"])
    assert [(m["source_state"], m["event"], m["target_state"]) for m in on_socket[f"{prefix}/lifecycle"]] == [
        ("created", "initialized", "paused"), ("paused", "started", "started"), ("started", "stopped", "stopped")]
    tasks = [payload["progress"]["task"] for payload in on_socket[f"{prefix}/status"] if "progress" in payload]
    assert "Launching simulation" in tasks
    assert "Shutting down Simulation" in tasks


async def test_the_simulation_parameter_narrows_the_socket_to_one_simulation(nrp, jp_ws_fetch):
    code, first, _ = await nrp.launch("tf_exchange")
    assert code == 201, first
    first_id = first["simulationID"]
    only_first, everything = Received(), Received()
    narrow = await jp_ws_fetch("nrp", "events", params={"simulation": str(first_id)}, on_message_callback=only_first)
    wide = await jp_ws_fetch("nrp", "events", on_message_callback=everything)

    code, second, _ = await nrp.launch("status_function")
    assert code == 201, second
    second_id = second["simulationID"]
    assert (await nrp.put_state(second_id, "stopped"))[0] == 200
    assert (await nrp.put_state(first_id, "stopped"))[0] == 200
    await eventually_async(lambda: only_first.has_state(first_id, "stopped")
                           and everything.has_state(first_id, "stopped"), 10,
                           what="the stopped status of the first simulation on both sockets")
    narrow.close()
    wide.close()

    assert {message["simulationID"] for message in only_first} == {first_id}
    assert {message["simulationID"] for message in everything} == {first_id, second_id}
    assert everything.has_state(second_id, "stopped")
    assert only_first.of(first_id, "lifecycle") == everything.of(first_id, "lifecycle") == [
        {"source_node": only_first.of(first_id, "lifecycle")[0]["source_node"], "source_state": "paused",
         "event": "stopped", "target_state": "stopped"}]


async def test_the_server_sets_tcp_nodelay_on_the_socket(jp_ws_fetch, publisher):
    before = listeners(publisher)
    connection = await jp_ws_fetch("nrp", "events")
    await eventually_async(lambda: len(listeners(publisher)) == len(before) + 1, 10,
                           what="the socket's listener")
    (listener,) = listeners(publisher) - before
    server_socket = listener.__self__.ws_connection.stream.socket
    assert server_socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    connection.close()


async def test_closed_sockets_are_dropped_from_the_listeners_without_errors(jp_ws_fetch, publisher, caplog):
    before = listeners(publisher)
    received = Received()
    survivor = await jp_ws_fetch("nrp", "events", on_message_callback=received)
    await eventually_async(lambda: len(listeners(publisher)) == len(before) + 1, 10,
                           what="the socket's listener")
    with_survivor = listeners(publisher)

    polite = await jp_ws_fetch("nrp", "events")
    await eventually_async(lambda: len(listeners(publisher)) == len(with_survivor) + 1, 10,
                           what="the socket's listener")
    polite.close()
    await eventually_async(lambda: listeners(publisher) == with_survivor, 10,
                           what="the closed socket's removal")

    # A client that vanishes without a close frame: only the TCP connection ends.
    abrupt = await jp_ws_fetch("nrp", "events")
    await eventually_async(lambda: len(listeners(publisher)) == len(with_survivor) + 1, 10,
                           what="the socket's listener")
    abrupt.protocol.stream.close()
    await eventually_async(lambda: listeners(publisher) == with_survivor, 10,
                           what="the vanished socket's removal")

    # A socket whose connection is gone before the server ran on_close: the write refuses and the
    # listener drops itself at once.
    doomed = await jp_ws_fetch("nrp", "events")
    await eventually_async(lambda: len(listeners(publisher)) == len(with_survivor) + 1, 10,
                           what="the socket's listener")
    (listener,) = listeners(publisher) - with_survivor
    listener.__self__.ws_connection.stream.close()
    publisher.status(41, {"state": "started", "realTime": 1.0, "simulationTime": 0.5, "simulationTimeLeft": 9.5})
    assert listeners(publisher) == with_survivor
    await eventually_async(lambda: doomed.protocol is None or doomed.protocol.stream.closed(), 10,
                           what="the client's close")

    publisher.status(41, {"state": "paused", "realTime": 2.0, "simulationTime": 1.0, "simulationTimeLeft": 9.0})
    await eventually_async(lambda: received.has_state(41, "paused"), 10,
                           what="the last message on the surviving socket")
    assert [payload["state"] for payload in received.of(41, "status")] == ["started", "paused"]
    survivor.close()
    # The client objects of the cut connections still need closing, or they warn when collected.
    abrupt.close()
    doomed.close()
    await eventually_async(lambda: listeners(publisher) == before, 10, what="the last socket's removal")
    errors = [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert errors == [], [record.getMessage() for record in errors]


async def test_a_simulation_filter_that_is_not_an_id_is_refused(jp_fetch):
    from tornado.httpclient import HTTPClientError

    # Refused before the upgrade, so a plain GET shows the answer (a failed websocket handshake
    # would leave tornado's client object unclosed).
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("nrp", "events", params={"simulation": "abc"})
    assert refused.value.code == 400
    assert "simulation must be a simulation id" in refused.value.response.body.decode()
