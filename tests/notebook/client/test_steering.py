"""Steering, step and reset from the notebook client, on the session's real server with
nest_simple, whose steering.json declares the rate of an extra drive generator."""

import pytest

from nrp_jupyter.notebook.client import BadRequest, NotFound

pytestmark = pytest.mark.timeout(120)

STEP_S = 0.01


def test_the_client_steers_steps_and_resets_a_simulation(connection):
    simulation = connection.launch("nest_simple")
    [control] = simulation.steering_controls()
    assert (control["engine"], control["datapack"], control["field"]) == ("nest", "drive", "rate")
    assert simulation.datapack("nest", "drive")[0]["rate"] == 0.0

    queued = simulation.set_datapack("nest", "drive", {"rate": 800.0})
    assert queued["status"] == "queued"  # paused: it waits for the next step
    stepped = simulation.step(3)
    assert stepped == {"state": "paused", "steps": 3, "simulationTime": pytest.approx(3 * STEP_S)}
    assert simulation.steering_request(queued["ticket"])["status"] == "applied"
    assert simulation.datapack("nest", "drive")[0]["rate"] == 800.0

    with pytest.raises(NotFound, match="no engine 'brain'"):
        simulation.set_datapack("brain", "drive", {"rate": 1.0})
    with pytest.raises(BadRequest, match="outside the range"):
        simulation.set_datapack("nest", "drive", {"rate": 9000.0})

    assert simulation.reset() == {"state": "paused", "simulationTime": 0.0}
    assert simulation.datapack("nest", "drive")[0]["rate"] == 0.0  # the brain was loaded again
    simulation.stop()
