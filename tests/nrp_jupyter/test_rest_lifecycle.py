"""Black box: NRP's REST lifecycle on a real Jupyter server, real kernels, a real mosquitto."""

import asyncio
import time

import pytest

from tests.nrp_jupyter.conftest import wait_message

pytestmark = pytest.mark.timeout(120)


def status_topic(simulation_id):
    return f"nrp_simulation/{simulation_id}/status"


async def test_launch_start_pause_resume_complete_stop(nrp, subscriber, experiments_root):
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

    await asyncio.sleep(0.3)
    assert (await nrp.put_state(simulation_id, "paused"))[:2] == (200, {"state": "paused"})
    topic = status_topic(simulation_id)
    first = await wait_message(subscriber, topic, lambda m: m.get("state") == "paused", after=time.monotonic())
    second = await wait_message(subscriber, topic, lambda m: m.get("state") == "paused",
                                after=time.monotonic() + 0.01)
    assert first["simulationTime"] == second["simulationTime"]  # frozen while paused
    assert first["simulationTime"] + first["simulationTimeLeft"] == pytest.approx(10.0)

    assert (await nrp.put_state(simulation_id, "started"))[:2] == (200, {"state": "started"})
    await nrp.wait_state(simulation_id, "completed", timeout=30)
    await wait_message(subscriber, topic, lambda m: m.get("state") == "completed")

    started = time.monotonic()
    assert (await nrp.put_state(simulation_id, "stopped"))[:2] == (200, {"state": "stopped"})
    assert time.monotonic() - started < 2.0
    code, body, _ = await nrp.put_state(simulation_id, "stopped")
    assert (code, body["message"]) == (400, "The state transition is invalid (The simulation requested is finalized)")
    assert list(experiments_root.joinpath("slow_exchange").glob(f"*_simulation_{simulation_id}.log.zip"))
