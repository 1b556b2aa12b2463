"""A state request that meets a script the server does not know has ended yet.

The kernel says its script completed with an event; until the server has handled it, the record
still says `started`, and a pause sent meanwhile reaches a kernel that refuses it. That window is
too short to hit on purpose, so the test widens it: the server's handling of the kernel's
`Completed` event is held back (the kernel, its script and NRPCoreSim are real) until the pause
has been answered.
"""

import pytest

from kernel_ext.protocol import Completed
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(90)


async def test_a_pause_that_meets_a_completed_script_is_refused_as_a_transition(nrp, jp_serverapp, monkeypatch):
    events = jp_serverapp.web_app.settings["nrp_simulations"]._events
    deliver, held = events.on_event, []

    def hold_completion(simulation_id, event):
        if isinstance(event, Completed):
            held.append((simulation_id, event))
        else:
            deliver(simulation_id, event)

    monkeypatch.setattr(events, "on_event", hold_completion)
    code, record, _ = await nrp.launch("tf_exchange")
    assert code == 201, record
    simulation_id = record["simulationID"]
    assert (await nrp.put_state(simulation_id, "started"))[0] == 200
    await eventually_async(lambda: held, 30, "the script's completion in the kernel")
    assert await nrp.state(simulation_id) == "started"

    code, body, _ = await nrp.put_state(simulation_id, "paused")

    assert code == 400, body
    assert body["type"] == "State Transition error"
    assert "changed state meanwhile" in body["message"] and "'completed'" in body["message"], body
    for simulation_id_and_event in held:
        deliver(*simulation_id_and_event)
    await nrp.wait_state(simulation_id, "completed")
    assert (await nrp.put_state(simulation_id, "stopped"))[0] == 200
