"""Black box: NRP's REST lifecycle on a real Jupyter server, real kernels, a real mosquitto."""

import time

import pytest

from tests.nrp_jupyter.conftest import wait_message
from tests.nrp_jupyter.mqtt_helpers import Subscriber
from tests.ports import free_port
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(120)


def status_topic(simulation_id):
    return f"nrp_simulation/{simulation_id}/status"


EMBEDDED_PORT = free_port()


@pytest.fixture(params=["mosquitto", "embedded"])
def broker_mode(request):
    return request.param


@pytest.fixture
def nrp_config(broker_mode):
    # No broker configured: the extension starts its own, on a port chosen for this test.
    return {"mqtt_broker": "", "embedded_broker_port": EMBEDDED_PORT} if broker_mode == "embedded" else {}


@pytest.fixture
def any_subscriber(broker_mode, broker, jp_serverapp):
    address = f"127.0.0.1:{EMBEDDED_PORT}" if broker_mode == "embedded" else broker.address
    with Subscriber(address, ["nrp_simulation/#"]) as subscriber:
        yield subscriber


async def test_launch_start_pause_resume_complete_stop(nrp, any_subscriber, experiments_root):
    subscriber = any_subscriber
    code, body, headers = await nrp.launch("slow_exchange")
    assert code == 201, body
    assert body["state"] == "paused"
    simulation_id = body["simulationID"]
    assert headers["Location"].endswith(f"/nrp/simulation/{simulation_id}")
    assert set(body) == {"state", "simulationID", "experimentConfiguration", "mainScript", "owner",
                         "creationDate", "experimentID", "ctxId", "MQTTPrefix"}

    code, body, _ = await nrp.put_state(simulation_id, "started")
    assert (code, body) == (200, {"state": "started"})
    code, body, _ = await nrp.put_state(simulation_id, "started")
    assert (code, body) == (200, {"state": "started"})  # idempotent repeat

    topic = status_topic(simulation_id)
    await wait_message(subscriber, topic, lambda m: m.get("simulationTime", 0) > 0, timeout=10)
    pausing = time.monotonic()
    assert (await nrp.put_state(simulation_id, "paused"))[:2] == (200, {"state": "paused"})
    # The transition's own status carries the last time the kernel reported, and the step in flight
    # when pause arrived still ends, perhaps after the first periodic status: compare the two after that.
    def periodic_while_paused():
        paused = [message.json() for message in subscriber.received(topic)
                  if message.at >= pausing and message.json().get("state") == "paused"]
        return paused[2:4] if len(paused) >= 4 else None

    first, second = await eventually_async(periodic_while_paused, 10, "no periodic status while paused")
    assert first["simulationTime"] == second["simulationTime"]  # frozen while paused
    assert first["simulationTime"] + first["simulationTimeLeft"] == pytest.approx(10.0)

    assert (await nrp.put_state(simulation_id, "started"))[:2] == (200, {"state": "started"})
    await nrp.wait_state(simulation_id, "completed", timeout=30)
    await wait_message(subscriber, topic, lambda m: m.get("state") == "completed")

    # How long a stop takes is measured by benchmarks/control_latency.py.
    assert (await nrp.put_state(simulation_id, "stopped"))[:2] == (200, {"state": "stopped"})
    code, body, _ = await nrp.put_state(simulation_id, "stopped")
    assert (code, body["message"]) == (400, "The state transition is invalid (The simulation requested is finalized)")
    assert list(experiments_root.joinpath("slow_exchange").glob(f"*_simulation_{simulation_id}.log.zip"))
