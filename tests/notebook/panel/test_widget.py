"""The widget's traits and message handlers in plain pytest (DummyComm), against a local
frame server that stands in for the Jupyter server."""

import pytest

from nrp_jupyter.notebook.client import Simulation
from nrp_jupyter.notebook.panel import ControlPanel
from tests.notebook.panel.conftest import panel_threads
from tests.notebook.panel.frame_server import frame, status
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


def front_end_sends(panel, content):
    """What ipywidgets does with a front end's `model.send(content)`."""
    panel._handle_msg({"content": {"data": {"method": "custom", "content": content}}, "buffers": []})


def test_traits_start_from_a_rest_snapshot(frame_server, panels, simulation_of):
    server = frame_server(simulation_id=5, state="paused")
    panel = panels(simulation_of(server))
    assert isinstance(panel, ControlPanel) and panel.simulation_id == 5
    assert "export default" in panel._esm and ".nrp-panel" in panel._css
    eventually(lambda: panel.connected, 20, what="the connection")
    assert (panel.state, panel.experiment_id, panel.actions) == ("paused", "fake_experiment", ["start", "step", "reset", "stop"])
    assert panel.log_files == [{"name": "simulation.log", "lines": "started"}]
    assert "/nrp/events?simulation=5" in server.requests and "/nrp/simulation/5/details" in server.requests


def test_pushed_frames_update_the_traits(frame_server, panels, simulation_of):
    server = frame_server(on_connect=lambda ws, n: ws.send(status(1, "started", 2.0, left=6.0, real=2.5)))
    panel = panels(simulation_of(server))
    eventually(lambda: panel.state == "started", 20, what="the pushed state")
    assert (panel.sim_time, panel.real_time, panel.time_left, panel.progress) == (2.0, 2.5, 6.0, 0.25)
    assert panel.actions == ["pause", "stop"]


def test_an_unknown_message_is_answered_in_the_panel(frame_server, panels, simulation_of):
    panel = panels(simulation_of(frame_server()))
    front_end_sends(panel, {"action": "explode"})
    eventually(lambda: "unknown panel message" in panel.notice, 20, what="the notice")
    assert "'pause'" in panel.notice and "'explode'" in panel.notice
    front_end_sends(panel, "stop")
    eventually(lambda: "unknown panel message 'stop'" in panel.notice, 20,
               what="the notice for a bare string")


def test_a_button_the_state_does_not_allow_is_refused_without_a_request(frame_server, panels, simulation_of):
    server = frame_server(state="paused")
    panel = panels(simulation_of(server))
    eventually(lambda: panel.state == "paused", 20, what="the state")
    front_end_sends(panel, {"action": "pause"})
    eventually(lambda: panel.notice == "cannot pause a simulation that is paused", 20, what="the refusal")
    assert not any(path.endswith("/state") for path in server.requests)


def test_a_refused_stream_ends_the_updates_with_the_reason(frame_server, panels, simulation_of):
    server = frame_server()
    server.refuse_with = 403
    panel = panels(simulation_of(server, token="wrong"))
    eventually(lambda: not panel.updater.alive, 20, what="the end of the updater")
    assert "refused the event stream" in panel.notice and "403" in panel.notice
    assert panel.connected is False
    # The panel still answers its buttons once its thread has ended.
    front_end_sends(panel, {"action": "start"})
    eventually(lambda: panel.notice == "cannot start a simulation that is not known yet", 20,
               what="the refusal")


def test_an_unknown_simulation_ends_the_updates_naming_it(frame_server, panels, simulation_of):
    server = frame_server(simulation_id=3)
    panel = panels(simulation_of(server, simulation_id=99))
    eventually(lambda: not panel.updater.alive, 20, what="the end of the updater")
    assert panel.notice.startswith("simulation 99:") and "HTTP 404" in panel.notice


def test_an_unreachable_server_is_retried_and_close_ends_the_thread(panels, connections):
    port = free_port()
    panel = panels(Simulation(connections(f"http://127.0.0.1:{port}/", "t"), 1))
    eventually(lambda: "no connection to the server" in panel.notice and "retrying in" in panel.notice, 20,
               what="the retry notice")
    assert panel.connected is False and panel.updater.alive
    thread = panel.updater.thread
    panel.close()
    assert not thread.is_alive()
    assert thread not in panel_threads()


def test_a_dropped_stream_reconnects_and_reads_the_state_again(frame_server, panels, simulation_of):
    server = frame_server(state="paused", on_connect=lambda ws, n: ws.send(status(1, "paused", float(n))))
    panel = panels(simulation_of(server))
    eventually(lambda: panel.sim_time == 1.0, 20, what="the first connection's status")
    server.info["state"] = "started"
    server.drop_connections()
    eventually(lambda: panel.sim_time == 2.0, 20, what="the second connection's status")
    assert server.connections == 2
    assert server.requests.count("/nrp/simulation/1/details") >= 2
    assert panel.connected


def test_a_malformed_frame_is_reported_and_later_frames_still_apply(frame_server, panels, simulation_of):
    def push(ws, _):
        ws.send("{not json")
        ws.send(frame(1, "data/cam", {"image": {"width": 1, "height": 1, "encoding": "rgb8", "data": "AAA="}}))
        ws.send(status(1, "started", 3.0))

    panel = panels(simulation_of(frame_server(on_connect=push)))
    eventually(lambda: panel.sim_time == 3.0, 20, what="the frame after the bad ones")
    assert panel.updater.ignored_frames == 2
    assert "ignored a message" in panel.notice and "datapack 'cam'" in panel.notice


def test_a_final_state_refreshes_once_more_and_ends_the_thread(frame_server, panels, simulation_of):
    def push(ws, _):
        server.logs = {"files": [{"name": "simulation.log", "content": "started\narchived\n"}]}
        server.info.update(state="stopped", status={"simulationTime": 4.0, "realTime": 4.2, "simulationTimeLeft": 0})
        ws.send(status(1, "stopped", 4.0))

    server = frame_server(on_connect=push)
    panel = panels(simulation_of(server))
    eventually(lambda: not panel.updater.alive, 20, what="the end of the updater")
    assert panel.state == "stopped" and panel.actions == [] and panel.sim_time == 4.0
    assert panel.log_files == [{"name": "simulation.log", "lines": "started\narchived"}]


def test_close_stops_the_thread_and_closes_the_widget(frame_server, simulation_of):
    panel = ControlPanel(simulation_of(frame_server()))
    eventually(lambda: panel.connected, 20, what="the connection")
    thread = panel.updater.thread
    panel.close()
    assert not thread.is_alive() and panel.comm is None
    panel.close()  # twice is harmless


def test_stop_is_one_click_with_a_visible_undo_window(frame_server, panels, simulation_of):
    server = frame_server(state="started")
    panel = panels(simulation_of(server), stop_undo_s=60.0)
    eventually(lambda: panel.state == "started", 20, what="the state")
    front_end_sends(panel, {"action": "stop"})
    eventually(lambda: panel.undo == {"action": "stop", "seconds": 60.0}, 20, what="the undo window")
    assert panel.controls[-1] == {"action": "undo", "label": "Undo stop", "enabled": True, "seconds": 60.0}
    front_end_sends(panel, {"action": "pause"})
    eventually(lambda: "the stop is about to be sent" in panel.notice, 20, what="the refusal during the window")
    front_end_sends(panel, {"action": "undo"})
    eventually(lambda: panel.undo == {} and panel.notice == "stop undone", 20, what="the undo")
    assert panel.controls[-1]["label"] == "Stop"
    assert not any(path.endswith("/state") for path in server.requests)
    # Not undone: the stop is sent when the window ends (the stand-in server answers no PUT).
    panel.stop_undo_s = 0.2
    front_end_sends(panel, {"action": "stop"})
    eventually(lambda: panel.notice.startswith("stop failed") and panel.undo == {}, 20, what="the stop's answer")
