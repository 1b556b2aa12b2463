"""The embedded broker serves MQTT over websockets, as NRP's frontend (mqtt.js in a browser)
connects: a websockets MQTT client sees a simulation's status and lifecycle, with no broker
set up beside the server."""

import json
import threading

import paho.mqtt.client as mqtt
import pytest

from tests.nrp_deployment.conftest import ALICE, TOKENS, launch
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def websockets_subscriber(nrp_server):
    """A paho client over websockets on the server's embedded broker, subscribed to every topic."""
    received: list[tuple[str, bytes]] = []
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="nrp-frontend-stand-in",
                         transport="websockets")
    client.ws_set_options(path="/mqtt")  # mqtt.js's default path
    client.on_connect = lambda client_, *_: client_.subscribe("nrp_simulation/#")
    client.on_subscribe = lambda *_: subscribed.set()
    client.on_message = lambda _client, _data, message: received.append((message.topic, message.payload))
    client.connect("127.0.0.1", nrp_server.websockets_port)
    client.loop_start()
    try:
        assert subscribed.wait(10), "no SUBACK over websockets"
        yield received
    finally:
        client.loop_stop()
        client.disconnect()


def test_a_websockets_client_follows_a_simulation(nrp_server, websockets_subscriber):
    status, simulation, _ = launch(nrp_server, "tf_exchange_0", TOKENS[ALICE])
    assert status == 201, simulation
    sid = simulation["simulationID"]
    assert nrp_server.fetch("PUT", f"simulation/{sid}/state", bearer=TOKENS[ALICE], body={"state": "started"})[0] == 200

    def states() -> list[str]:
        return [json.loads(payload).get("state") for topic, payload in list(websockets_subscriber)
                if topic == f"nrp_simulation/{sid}/status"]

    eventually(lambda: "started" in states(), within_s=20, what="a 'started' status over websockets")
    assert nrp_server.stop_as(sid, TOKENS[ALICE])[0] == 200
    eventually(lambda: "stopped" in states(), within_s=20, what="the 'stopped' status over websockets")
    assert any(topic == f"nrp_simulation/{sid}/lifecycle" for topic, _ in list(websockets_subscriber))
