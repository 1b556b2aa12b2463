"""Steering controls in the panel's model, and a recorded run replayed into the panel: no server."""

import json

import pytest

from nrp_jupyter.notebook.client.recording import RecordedMessage, Recording
from nrp_jupyter.notebook.panel import ControlPanel
from nrp_jupyter.notebook.panel.frames import Event, FrameError
from nrp_jupyter.notebook.panel.model import PanelModel
from nrp_jupyter.notebook.panel.replaying import event_of
from nrp_protobuf import wrappers_pb2
from tests.notebook.panel.test_model import status
from tests.notebook.panel.test_widget import front_end_sends
from tests.waiting import eventually

CARTPOLE = [
    {"engine": "cartpole", "datapack": "steer", "field": "push", "kind": "slider", "range": [-10, 10], "step": 1,
     "label": "Push", "initial": 0},
    {"engine": "cartpole", "datapack": "steer", "field": "on", "kind": "toggle", "label": "Controller on"},
]


def steering(value, when, engine="cartpole", datapack="steer"):
    return Event(7, "steering", {"ticket": 1, "engine": engine, "datapack": datapack, "value": value,
                                 "simulationTime": when, "who": "alice"})


def steering_entries(model):
    return [control for control in model["controls"] if control["action"] == "steer"]


def test_declared_controls_are_drawn_and_moved_by_steering_events_from_anyone():
    model = PanelModel(7)
    model.declare_steering(CARTPOLE)
    model.apply(status("created"))
    push, toggle = steering_entries(model)
    assert push == {"action": "steer", "control": 0, "kind": "slider", "label": "Push", "value": 0, "note": "",
                    "enabled": False, "min": -10, "max": 10, "step": 1}
    assert toggle["kind"] == "toggle" and toggle["value"] is False and "min" not in toggle
    model.apply(status("paused"))
    assert all(control["enabled"] for control in steering_entries(model))
    assert model["steered_at"] == -1.0
    model.apply(steering({"push": 4}, 1.25))
    assert steering_entries(model)[0]["value"] == 4 and steering_entries(model)[0]["note"] == \
        "applied at 1.250 s (alice)"
    assert steering_entries(model)[1]["value"] is False  # a field the event leaves out stays
    assert model["steered_at"] == 1.25
    model.apply(steering({"push": 9}, 2.0, engine="other"))  # another engine's datapack: no control of ours
    assert steering_entries(model)[0]["value"] == 4 and model["steered_at"] == 1.25
    model.apply(status("stopped"))
    assert not any(control["enabled"] for control in steering_entries(model))


def test_a_request_is_checked_before_it_is_sent_and_a_refusal_is_noted():
    model = PanelModel(7)
    model.declare_steering(CARTPOLE)
    assert model.steering.request(0, 3) == ("cartpole", "steer", {"push": 3})
    assert model.steering.request(1, True) == ("cartpole", "steer", {"on": True})
    with pytest.raises(ValueError, match=r"Push: 11 is outside \[-10, 10\]"):
        model.steering.request(0, 11)
    with pytest.raises(ValueError, match="a toggle takes true or false"):
        model.steering.request(1, 1)
    with pytest.raises(IndexError, match="no steering control 2"):
        model.steering.request(2, 0)
    model.steering.refused(0, "the simulation is completed (HTTP 409)")
    model.rebuild_controls()
    assert steering_entries(model)[0]["note"] == "refused: the simulation is completed (HTTP 409)"


@pytest.mark.parametrize(("declared", "named"), [
    ([{"engine": "e", "datapack": "d", "field": "f", "kind": "dial", "range": [0, 1]}], "'kind' must be one of"),
    ([{"engine": "e", "datapack": "d", "field": "f", "kind": "slider"}], "'range' must be"),
    ([{"engine": "e", "datapack": "d", "kind": "slider", "range": [0, 1]}], "'field' must be a string"),
])
def test_a_declaration_the_panel_cannot_draw_is_named(declared, named):
    with pytest.raises(FrameError, match=named):
        PanelModel(7).declare_steering(declared)


def recorded(topic, offset, payload, sim_time=0.0):
    if hasattr(payload, "SerializeToString"):
        return RecordedMessage(topic, 1000.0 + offset, sim_time, payload, payload.SerializeToString(), "protobuf",
                               type(payload).DESCRIPTOR.full_name)
    return RecordedMessage(topic, 1000.0 + offset, sim_time, payload, json.dumps(payload).encode(), "json", "")


def a_recording():
    """A short run: paused, started, two samples and a steering, a runtime error, completed."""
    def state(target, source):
        return {"source_state": source, "event": "x", "target_state": target}

    def status_payload(state_, sim_time):
        return {"realTime": sim_time, "simulationTime": sim_time, "state": state_, "simulationTimeLeft": 0}

    messages = [
        recorded("lifecycle", 0.0, state("paused", "created")),
        recorded("lifecycle", 0.2, state("started", "paused")),
        recorded("status", 0.3, status_payload("started", 0.1), 0.1),
        recorded("data/pole_angle", 0.4, wrappers_pb2.DoubleValue(value=0.5), 0.1),
        recorded("steering", 0.5, {"engine": "cartpole", "datapack": "steer", "value": {"push": 3},
                                   "simulationTime": 0.2}, 0.2),
        recorded("status", 0.8, status_payload("started", 0.6), 0.6),
        recorded("data/pole_angle", 0.9, wrappers_pb2.DoubleValue(value=-0.25), 0.6),
        recorded("runtime_error", 1.0, {"msg": "boom", "error_type": "Runtime", "fileName": "main_script.py",
                                        "line_number": 3}, 0.6),
        recorded("lifecycle", 1.2, state("completed", "started"), 0.6),
    ]
    return Recording(messages, {"simulationID": "12", "experimentID": "cartpole"})


def test_a_recorded_datapack_becomes_the_live_streams_sample():
    event = event_of(3, recorded("data/pole_angle", 0, wrappers_pb2.DoubleValue(value=1.5)))
    assert event == Event(3, "data/pole_angle", {"samples": [{"time": 0.0, "values": {"value": 1.5}}]})
    assert event_of(3, recorded("data/odd", 0, {"not": "protobuf"})) is None


def test_a_replayed_run_plays_pauses_seeks_and_changes_speed(frame_server):
    panel = ControlPanel.replay(a_recording(), speed=4.0)
    try:
        assert (panel.simulation_id, panel.experiment_id) == (12, "cartpole")
        eventually(lambda: panel.state == "completed", 20, what="the end of the replay")
        assert panel.history == ["paused", "started", "completed"] and panel.sim_time == 0.6
        assert panel.error["msg"] == "boom" and panel.link == "replay"
        assert panel.series["pole_angle"]["pole_angle"]["v"] == [0.5, -0.25]
        # The samples sit on the simulation time of their moment in the recording.
        assert panel.series["pole_angle"]["pole_angle"]["t"] == pytest.approx([0.2, 0.7])
        # No button of a live simulation; the replay's own controls instead.
        assert [c["action"] for c in panel.controls] == ["replay_play", "replay_seek", "replay_speed"]
        seek = panel.controls[1]
        assert (seek["min"], seek["max"], seek["value"]) == (0.0, 1.2, 1.2)

        front_end_sends(panel, {"action": "replay_pause"})
        front_end_sends(panel, {"action": "replay_seek", "value": 0.45})  # back: rebuilt up to there
        eventually(lambda: panel.state == "started" and panel.error == {}, 20, what="the run as it was at 0.45 s")
        assert panel.series["pole_angle"]["pole_angle"]["v"] == [0.5] and panel.sim_time == 0.1
        assert panel.controls[0]["action"] == "replay_play" and panel.controls[1]["value"] == 0.5
        front_end_sends(panel, {"action": "replay_speed", "value": 0})
        eventually(lambda: panel.notice == "speed ignored: speed must be above 0 and at most 100, not 0.0", 20,
                   what="the refused speed")
        front_end_sends(panel, {"action": "replay_speed", "value": 10})
        front_end_sends(panel, {"action": "replay_play"})
        eventually(lambda: panel.state == "completed" and panel.controls[2]["value"] == 10.0, 20,
                   what="the end again, at speed 10")
        front_end_sends(panel, {"action": "start"})
        eventually(lambda: "unknown panel message" in panel.notice, 20, what="a live action refused")
    finally:
        panel.close()
    assert not panel.updater.alive


def test_a_panel_shows_a_simulation_or_a_recording():
    with pytest.raises(ValueError, match="one of them"):
        ControlPanel()
