"""Two brokers joined as one (a mosquitto bridge, the smallest clustered broker): the server publishes
to one node, a frontend subscribed to the other sees every transition of a simulation, in order,
and the retained welcome of its datatransfer engine. docs/deployment.md describes the set-up."""

import asyncio
import subprocess

import paho.mqtt.publish as publish
import pytest

from tests.nrp_jupyter.mqtt_helpers import HOST, Subscriber, accepts_tcp, mosquitto_executable
from tests.ports import free_port
from tests.waiting import eventually, eventually_async

pytestmark = pytest.mark.timeout(120)

EXPERIMENT = "tf_exchange_datatransfer"
PROBE = "bridge_probe"


@pytest.fixture
def bridged_node(broker, tmp_path):
    """A second mosquitto that bridges every topic both ways to `broker`."""
    port = free_port()
    config = tmp_path / "bridge.conf"
    config.write_text(f"listener {port} {HOST}\nallow_anonymous true\n"
                      f"connection to_the_server_node\naddress {broker.address}\n"
                      "topic # both 1\ncleansession true\n")
    with open(tmp_path / "bridge.log", "wb") as log:
        process = subprocess.Popen([mosquitto_executable(), "-c", str(config)], stdin=subprocess.DEVNULL,
                                   stdout=log, stderr=subprocess.STDOUT)
    def listening() -> bool:
        assert process.poll() is None, (tmp_path / "bridge.log").read_text()
        return accepts_tcp(HOST, port)

    try:
        eventually(listening, 5, lambda: (tmp_path / "bridge.log").read_text(), every_s=0.01)
        yield f"{HOST}:{port}"
    finally:
        process.terminate()
        process.wait(timeout=5)


def states(subscriber, topic):
    """The succession of states in the status messages on `topic`, repeats folded."""
    seen = []
    for message in subscriber.received(topic):
        state = message.json().get("state")
        if state and (not seen or seen[-1] != state):
            seen.append(state)
    return seen


async def bridge_carries(server_node: str, subscriber) -> None:
    """Returns once a message published on the server's node reaches `subscriber` on the other: the
    bridge connects in its own time, after its listener is up."""
    host, port = server_node.split(":")

    async def carried() -> bool:
        if subscriber.received(PROBE):
            return True
        await asyncio.to_thread(publish.single, PROBE, b"1", hostname=host, port=int(port))
        return False

    await eventually_async(carried, 10, "the bridge never carried a message", every_s=0.1)


@pytest.mark.usefixtures("datatransfer_experiment")
async def test_a_frontend_on_the_other_node_sees_every_transition_in_order(nrp, broker, bridged_node):
    with Subscriber(bridged_node, ["nrp_simulation/#", PROBE]) as frontend:
        frontend.wait_subscribed()
        await bridge_carries(broker.address, frontend)
        code, record, _ = await nrp.launch(EXPERIMENT)
        assert code == 201, record
        simulation_id = record["simulationID"]
        status_topic = f"nrp_simulation/{simulation_id}/status"
        for state in ("started", "paused", "started"):
            assert (await nrp.put_state(simulation_id, state))[0] == 200
        await nrp.wait_state(simulation_id, "completed", timeout=60)
        assert (await nrp.put_state(simulation_id, "stopped"))[0] == 200

        await eventually_async(lambda: states(frontend, status_topic)[-1:] == ["stopped"], 10,
                               lambda: f"the frontend saw {states(frontend, status_topic)}")
        assert states(frontend, status_topic) == ["created", "paused", "started", "paused", "started", "completed",
                                                  "stopped"]
        # The engine's stream crossed the bridge too.
        assert frontend.received(f"nrp_simulation/{simulation_id}/data/engine_time")
