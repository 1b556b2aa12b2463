"""The panel's values from events and REST snapshots: no widget, no thread, no socket."""

import base64

import pytest

from nrp_jupyter.notebook.panel.actions import allowed_actions
from nrp_jupyter.notebook.panel.datapacks import DatapackPlots
from nrp_jupyter.notebook.panel.frames import Event, FrameError
from nrp_jupyter.notebook.panel.model import PanelModel


def status(state, sim_time=0.0, left=0.0, real=None):
    return Event(7, "status", {"realTime": sim_time if real is None else real, "simulationTime": sim_time,
                               "state": state, "simulationTimeLeft": left})


def data(datapack, samples, image=None):
    payload = {"datapack": datapack, "type": "json", "samples": samples}
    if image is not None:
        payload["image"] = image
    return Event(7, f"data/{datapack}", payload)


@pytest.mark.parametrize(("state", "has_run", "actions"), [
    ("created", False, ["stop"]),
    ("paused", False, ["start", "step", "reset", "stop"]),
    ("paused", True, ["resume", "step", "reset", "stop"]),
    ("started", True, ["pause", "stop"]),
    ("completed", True, ["stop"]),
    ("stopped", True, []),
    ("failed", False, []),
    ("", False, []),
])
def test_buttons_enabled_by_state(state, has_run, actions):
    assert allowed_actions(state, has_run) == actions


def test_status_sets_the_times_state_progress_and_buttons():
    model = PanelModel(7)
    model.apply(status("paused"))
    changes = model.take_changes()
    assert {name: changes[name] for name in ("state", "history", "actions")} == {
        "state": "paused", "history": ["paused"], "actions": ["start", "step", "reset", "stop"]}
    model.apply(status("started", sim_time=2.0, left=8.0, real=2.5))
    changes = model.take_changes()
    assert changes["sim_time"] == 2.0 and changes["real_time"] == 2.5 and changes["time_left"] == 8.0
    assert changes["progress"] == pytest.approx(0.2)
    assert changes["actions"] == ["pause", "stop"]
    model.apply(status("paused", sim_time=5.0, left=5.0))
    assert model["actions"] == ["resume", "step", "reset", "stop"] and model["progress"] == pytest.approx(0.5)
    # The timeout is reached: no time left, all of it done.
    model.apply(status("completed", sim_time=10.0, left=0.0))
    assert model["progress"] == 1.0 and model["actions"] == ["stop"]
    model.apply(status("stopped", sim_time=10.0))
    assert model.final and model["actions"] == []


def test_a_final_state_is_never_left():
    model = PanelModel(7)
    model.apply(status("stopped", sim_time=3.0))
    model.apply_info({"state": "started"})
    model.apply(status("paused", sim_time=2.0))
    assert model["state"] == "stopped" and model["actions"] == []


def test_progress_stays_unknown_without_a_timeout():
    model = PanelModel(7)
    model.apply(status("started", sim_time=3.0, left=0.0))
    assert model["progress"] == -1.0


def test_changes_coalesce_into_the_latest_values():
    model = PanelModel(7)
    for step in range(1, 100):
        model.apply(status("started", sim_time=step * 0.1, left=100.0))
    changes = model.take_changes()
    assert changes["sim_time"] == pytest.approx(9.9)
    assert model.take_changes() == {} and not model.has_changes


def test_progress_payload_shows_the_task_until_done():
    model = PanelModel(7)
    model.apply(Event(7, "status", {"progress": {"task": "Starting simulation", "subtask": "Starting engines",
                                                 "number_of_subtasks": 3, "subtask_index": 1, "block_ui": True}}))
    assert model["task"] == "Starting simulation: Starting engines (2/3)"
    model.apply(Event(7, "status", {"progress": {"task": "Starting simulation", "done": True}}))
    assert model["task"] == ""


def test_runtime_error_keeps_file_and_line():
    model = PanelModel(7)
    model.apply(Event(7, "runtime_error", {"sim_id": "7", "msg": "ValueError: boom", "error_type": "Runtime",
                                           "fileName": "main_script.py", "line_number": 3, "offset": -1,
                                           "line_text": "raise ValueError('boom')"}))
    assert model["error"] == {"msg": "ValueError: boom", "error_type": "Runtime", "fileName": "main_script.py",
                              "line_number": 3, "offset": -1, "line_text": "raise ValueError('boom')"}


def test_lifecycle_moves_the_state_and_other_simulations_are_ignored():
    model = PanelModel(7)
    model.apply(Event(7, "lifecycle", {"source_node": "n", "source_state": "paused", "event": "started",
                                       "target_state": "started"}))
    model.apply(Event(8, "status", {"state": "failed", "simulationTime": 1.0}))
    assert model["state"] == "started"


def test_rest_snapshot_and_extra_fields():
    model = PanelModel(7)
    model.apply_info({"state": "completed", "experimentID": "tf_exchange", "simulationID": 7,
                      "runtimeError": {"msg": "late", "fileName": "main_script.py", "line_number": 9},
                      "status": {"simulationTime": 4.0, "realTime": 5.0, "simulationTimeLeft": 0.0}})
    assert (model["state"], model["experiment_id"], model["sim_time"]) == ("completed", "tf_exchange", 4.0)
    assert model["error"]["line_number"] == 9


def test_logs_keep_the_last_lines_of_each_file():
    model = PanelModel(7, log_lines=2)
    model.apply_logs({"simulationID": 7, "files": [{"name": "a.log", "content": "1\n2\n3\n"},
                                                   {"name": "b.log", "content": ""}]})
    assert model["log_files"] == [{"name": "a.log", "lines": "2\n3"}, {"name": "b.log", "lines": ""}]


@pytest.mark.parametrize("body", [{"simulationID": 7}, {"files": [{"name": "x"}]}, ["a.log"]])
def test_a_logs_answer_without_files_is_refused(body):
    with pytest.raises(FrameError, match="logs answer"):
        PanelModel(7).apply_logs(body)


@pytest.mark.parametrize(("payload", "named"), [
    ("text", "status payload"),
    ({"simulationTime": "soon", "state": "started"}, "'simulationTime'"),
    ({"progress": "half"}, "'progress'"),
])
def test_a_bad_status_payload_is_refused_naming_the_key(payload, named):
    with pytest.raises(FrameError, match=named):
        PanelModel(7).apply(Event(7, "status", payload))


class FakeClock:
    """The panel's clock, moved by the test."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_data_series_are_plotted_with_only_numeric_values():
    model = PanelModel(7)
    model.apply(data("joints", [{"time": 0.0, "values": {"angle": 0.5, "label": "x", "flag": True}},
                                {"time": 0.1, "values": {"angle": 0.75, "speed": 2}}]))
    assert model["series"] == {"joints": {"angle": {"t": [0.0, 0.0], "v": [0.5, 0.75]},
                                          "speed": {"t": [0.0], "v": [2.0]}}}
    assert "series" in model.take_changes()


def test_series_keep_the_last_max_points():
    model = PanelModel(7, max_points=3)
    model.apply(data("d", [{"time": float(t), "values": {"x": t * 2.0}} for t in range(10)]))
    assert model["series"]["d"]["x"]["v"] == [14.0, 16.0, 18.0]


def test_samples_are_plotted_against_simulation_time():
    clock = FakeClock()
    model = PanelModel(7, clock=clock)
    model.apply(status("started", sim_time=0.0))
    clock.now += 1.0
    model.apply(status("started", sim_time=2.0))
    # Received by the server 0.25 s apart (its own clock), the batch reaches the panel at +1.5 s.
    clock.now += 0.5
    model.apply(data("d", [{"time": 40.0, "values": {"x": 1.0}}, {"time": 40.25, "values": {"x": 2.0}}]))
    # Past the last status: at the pace seen so far, 2 s of simulation per second.
    assert model["series"]["d"]["x"]["t"] == pytest.approx([2.5, 3.0])
    clock.now += 0.5
    model.apply(status("completed", sim_time=3.0))
    # The next status puts them on the line between the two.
    assert model["series"]["d"]["x"]["t"] == pytest.approx([2.25, 2.5])


def test_the_pace_past_the_last_status_is_not_taken_from_a_status_just_after_a_resume():
    clock = FakeClock()
    model = PanelModel(7, clock=clock)
    for second in range(3):
        model.apply(status("started", sim_time=float(second)))
        clock.now += 1.0
    model.apply(status("paused", sim_time=3.0))
    clock.now += 5.0
    model.apply(status("started", sim_time=3.0))
    clock.now += 0.05
    model.apply(status("started", sim_time=3.01))  # a tick right after the resume
    clock.now += 0.45
    model.apply(data("d", [{"time": 0.0, "values": {"x": 1.0}}]))
    assert model["series"]["d"]["x"]["t"] == pytest.approx([3.46])  # at the pace of the run: 1 s per s


def test_a_resume_known_only_from_the_lifecycle_starts_the_clock_again_from_the_paused_time():
    clock = FakeClock()
    model = PanelModel(7, clock=clock)
    model.apply(status("started", sim_time=0.0))
    clock.now += 1.0
    model.apply(status("started", sim_time=1.0))
    clock.now += 0.5
    model.apply(status("paused", sim_time=1.5))
    clock.now += 2.0
    model.apply(Event(7, "lifecycle", {"source_state": "paused", "target_state": "started"}))
    clock.now += 0.5
    model.apply(data("d", [{"time": 0.0, "values": {"x": 1.0}}]))
    # Half a second after the resume at the run's pace, not 2.5 s after the pause.
    assert model["series"]["d"]["x"]["t"] == pytest.approx([2.0])


def test_series_are_named_after_their_datapack_where_the_field_is_a_container():
    model = PanelModel(7)
    model.apply(data("pole_angle", [{"time": 0.0, "values": {"value": 0.1}}]))
    model.apply(data("left_eye", [{"time": 0.0, "values": {"array[0]": 1.0, "array[1]": 2.0}}]))
    model.apply(data("joint", [{"time": 0.0, "values": {"position": 3.0}}]))
    assert {datapack: list(series) for datapack, series in model["series"].items()} == {
        "pole_angle": ["pole_angle"], "left_eye": ["left_eye[0]", "left_eye[1]"], "joint": ["position"]}


def test_wall_time_runs_from_the_start_beside_the_time_in_run_loop():
    clock = FakeClock()
    model = PanelModel(7, clock=clock)
    model.apply(status("paused"))
    clock.now += 5.0
    assert model["wall_time"] == -1.0  # not started: unknown, not zero
    model.apply(status("started"))
    clock.now += 3.0
    model.apply(status("started", sim_time=2.0, real=1.5))
    assert (model["wall_time"], model["real_time"]) == (3.0, 1.5)
    clock.now += 2.0
    model.apply(status("completed", sim_time=4.0, real=2.5))
    clock.now += 10.0
    model.apply(status("stopped", sim_time=4.0, real=2.5))
    assert model["wall_time"] == 5.0  # stops with the run


def test_a_panel_opened_on_a_running_simulation_counts_wall_time_from_its_real_time():
    clock = FakeClock()
    model = PanelModel(7, clock=clock)
    model.apply_info({"state": "started", "status": {"simulationTime": 6.0, "realTime": 4.0,
                                                     "simulationTimeLeft": 0.0}})
    clock.now += 1.0
    model.apply(status("started", sim_time=7.0, real=4.5))
    assert model["wall_time"] == 5.0


def test_the_link_is_no_alarm_before_the_first_connection_nor_after_the_end():
    model = PanelModel(7)
    assert model["link"] == "connecting" and model["state"] == ""
    model.set("connected", True)
    assert model["link"] == "live"
    model.set("connected", False)
    assert model["link"] == "reconnecting"
    model.set("connected", True)
    model.apply(status("stopped"))
    model.set("connected", False)
    assert model["link"] == "ended"


def test_controls_follow_the_state_a_pending_request_and_an_undo_window():
    model = PanelModel(7)
    model.apply(status("paused"))
    assert model["controls"] == [{"action": "start", "label": "Start", "enabled": True},
                                 {"action": "pause", "label": "Pause", "enabled": False},
                                 {"action": "step", "label": "Step", "enabled": True,
                                  "input": {"label": "steps", "value": 1, "min": 1}},
                                 {"action": "reset", "label": "Reset", "enabled": True},
                                 {"action": "stop", "label": "Stop", "enabled": True}]
    model.set("undo", {"action": "stop", "seconds": 3.0})
    assert model["controls"][-1] == {"action": "undo", "label": "Undo stop", "enabled": True, "seconds": 3.0}
    model.set("undo", {})
    model.set("pending", "stop")
    assert [(c["label"], c["enabled"]) for c in model["controls"]] == [
        ("Start", False), ("Pause", False), ("Step", False), ("Reset", False), ("Stopping…", False)]


def test_only_the_chosen_datapacks_are_plotted():
    model = PanelModel(7, datapacks=["wanted"])
    model.apply(data("other", [{"time": 0.0, "values": {"x": 1.0}}]))
    model.apply(data("wanted", [{"time": 0.0, "values": {"y": 1.0}}]))
    assert list(model["series"]) == ["wanted"]


def test_the_latest_image_is_kept():
    model = PanelModel(7)
    first = {"width": 2, "height": 1, "encoding": "rgb8", "data": base64.b64encode(bytes(6)).decode()}
    second = {"width": 1, "height": 2, "encoding": "mono8", "data": base64.b64encode(b"\x10\x20").decode()}
    model.apply(data("camera", [], image=first))
    model.apply(data("camera", [], image=second))
    assert model["images"] == {"camera": second}


@pytest.mark.parametrize(("payload", "named"), [
    ({"samples": {"time": 0}}, "'samples' must be a list"),
    ({"samples": [{"values": {"x": 1}}]}, r"samples\[0\] has no numeric 'time'"),
    ({"samples": [{"time": 0, "values": [1]}]}, "'values' must be an object"),
    ({"image": {"width": 2, "height": 2, "encoding": "bgr8", "data": ""}}, "encoding 'bgr8'"),
    ({"image": {"width": 0, "height": 2, "encoding": "rgb8", "data": ""}}, "'width'"),
    ({"image": {"width": 2, "height": 2, "encoding": "rgb8", "data": "%%%"}}, "not base64"),
    ({"image": {"width": 2, "height": 2, "encoding": "rgb8", "data": base64.b64encode(bytes(5)).decode()}},
     "5 bytes of pixels, but 2x2 rgb8 needs 12"),
])
def test_a_bad_datapack_payload_is_refused_naming_the_datapack_and_key(payload, named):
    with pytest.raises(FrameError, match=f"datapack 'cam'.*{named}"):
        DatapackPlots().add("cam", payload)


def test_bad_limits_are_refused():
    with pytest.raises(ValueError, match="max_points"):
        PanelModel(1, max_points=1)
    with pytest.raises(ValueError, match="log_lines"):
        PanelModel(1, log_lines=0)
    with pytest.raises(KeyError, match="no value 'colour'"):
        PanelModel(1).set("colour", "red")


def test_history_keeps_changes_that_coalesce_away_between_two_writes():
    model = PanelModel(7)
    model.apply(status("started", sim_time=1.0))
    model.take_changes()
    # A pause and a resume between two writes: `state` is as before, the history has both.
    model.apply(status("paused", sim_time=1.0))
    model.apply(status("started", sim_time=1.1))
    model.apply(status("started", sim_time=1.2))
    changes = model.take_changes()
    assert changes["state"] == "started" and changes["history"] == ["started", "paused", "started"]


def test_history_is_bounded_and_ends_at_a_final_state():
    from nrp_jupyter.notebook.panel.model import HISTORY_LENGTH

    model = PanelModel(7)
    for step in range(HISTORY_LENGTH + 5):
        model.apply(status("started" if step % 2 else "paused"))
    assert len(model["history"]) == HISTORY_LENGTH and model["history"][-1] == "paused"
    model.apply(status("stopped"))
    model.apply(status("started"))  # sent before the end, arrived after it
    assert model["history"][-2:] == ["paused", "stopped"]
