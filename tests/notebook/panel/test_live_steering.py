"""The panel's steering controls, Step and Reset against a real server running cartpole: what a
panel sends reaches the engine, every panel shows it, refusals are shown."""

import pytest

from nrp_jupyter.notebook.client import Simulation
from tests.notebook.panel.test_widget import front_end_sends
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)

GAIN = 1  # cartpole's steering.json: control 1 is the controller's gain, range [0, 3]


def test_steering_step_and_reset_from_the_panel_reach_the_engine_and_every_panel(live_server_quiet, launched,
                                                                                  panels, connections):
    server = live_server_quiet
    simulation = launched("cartpole")
    panel = panels(simulation)
    other = panels(Simulation(connections(server.url, server.token), simulation.id))
    eventually(lambda: panel.state == "paused" and len(steering(panel)) == 2, 30, what="paused, with its controls")
    gain = steering(panel)[GAIN]
    assert (gain["label"], gain["kind"], gain["min"], gain["max"], gain["step"], gain["value"], gain["enabled"]) \
        == ("Controller gain on the pole", "slider", 0, 3, 0.1, 1.0, True)

    # Paused: the steering waits for the next step (queued), which Step runs; both panels move.
    front_end_sends(panel, {"action": "steer", "control": GAIN, "value": 2.5})
    eventually(lambda: steering(panel)[GAIN]["note"].startswith("queued (ticket "), 20, what="queued")
    front_end_sends(panel, {"action": "step", "value": 3})
    eventually(lambda: panel.sim_time == pytest.approx(0.06) and panel.pending == "", 30, what="3 steps of 20 ms")
    for shown in (panel, other):
        eventually(lambda: steering(shown)[GAIN]["value"] == 2.5 and shown.steered_at == 0.0, 20,
                   what="the applied gain in both panels")
        assert steering(shown)[GAIN]["note"].startswith("applied at 0.000 s")
    assert simulation.datapack("cartpole", "steer")["gain"] == 2.5
    assert panel.state == "paused" and panel.notice == ""

    # A change made elsewhere (a REST client) moves the controls of both panels too.
    simulation.set_datapack("cartpole", "steer", {"gain": 0.5})
    front_end_sends(other, {"action": "step", "value": 1})
    for shown in (panel, other):
        eventually(lambda: steering(shown)[GAIN]["value"] == 0.5 and shown.steered_at == pytest.approx(0.06), 20,
                   what="the REST client's gain in both panels")

    # Reset: back to time 0, still paused.
    front_end_sends(panel, {"action": "reset"})
    eventually(lambda: panel.sim_time == 0.0 and panel.pending == "" and panel.state == "paused", 30,
               what="reset to time 0")
    assert simulation.state == "paused"

    # Refusals are shown, not swallowed: outside the range (checked before sending), a bad step
    # count, a request the server refuses.
    front_end_sends(panel, {"action": "steer", "control": GAIN, "value": 7})
    eventually(lambda: panel.notice == "steering 'Controller gain on the pole' refused: Controller gain on the "
               "pole: 7 is outside [0, 3]", 20, what="the range refusal")
    assert steering(panel)[GAIN]["note"].startswith("refused: ") and steering(panel)[GAIN]["value"] == 0.5
    front_end_sends(panel, {"action": "step", "value": 0})
    eventually(lambda: panel.notice.startswith("step ignored: the number of steps must be a whole number"), 20,
               what="the step count refusal")
    simulation.start()
    eventually(lambda: panel.state in ("started", "completed"), 20, what="started")
    panel._run_command("step", steps=1)  # a click the panel sent just before it learned of the start
    eventually(lambda: panel.notice.startswith("step failed: ") and "HTTP 400" in panel.notice, 20,
               what="the server's refusal of the step")
    simulation.stop()
    eventually(lambda: not panel.updater.alive, 20, what="the end")
    assert not any(control["enabled"] for control in steering(panel))
    panel._send_one_steering(GAIN, 1.0)  # sent just before the stop: the server refuses it
    assert "HTTP 409" in panel.notice and steering(panel)[GAIN]["note"].startswith("refused: ")
    front_end_sends(panel, {"action": "steer", "control": GAIN, "value": 1.0})
    assert panel.notice == "cannot steer a simulation that is stopped"


def steering(panel):
    return [control for control in panel.controls if control["action"] == "steer"]
