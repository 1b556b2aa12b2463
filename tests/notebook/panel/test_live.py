"""The panel against a real server process (`live_server`) running real simulations: states,
times, runtime errors, buttons, two panels at once, and no thread left behind."""

import threading

import pytest

from nrp_jupyter.notebook.client import Simulation
from tests.notebook.panel.conftest import panel_threads
from tests.notebook.panel.test_widget import front_end_sends
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)


def rest_state(server, simulation) -> str:
    return server.call("GET", "simulation", str(simulation.id), "state")[1]["state"]


class StateLog:
    """The panel's states in the order it showed them (observed on its updater thread)."""

    def __init__(self, panel):
        self.states = []
        self._lock = threading.Lock()
        panel.observe(self._record, names=["state"])

    def _record(self, change):
        with self._lock:
            self.states.append(change["new"])


def test_states_and_times_follow_the_simulation(live_server_quiet, launched, panels):
    simulation = launched("panel_slow")
    panel = panels(simulation)
    log = StateLog(panel)
    eventually(lambda: panel.state == "paused", 20, what="paused")
    assert panel.experiment_id == "panel_slow" and panel.actions == ["start", "step", "reset", "stop"]
    simulation.start()
    eventually(lambda: panel.state == "started" and panel.sim_time > 0, 20, what="started, with time")
    first_sim, first_real = panel.sim_time, panel.real_time
    eventually(lambda: panel.sim_time > first_sim and panel.real_time > first_real, 20,
               what="times increasing")
    assert 0 < panel.progress < 1 and panel.time_left > 0
    simulation.pause()
    eventually(lambda: panel.state == "paused", 20, what="paused again")
    assert panel.actions == ["resume", "step", "reset", "stop"]
    simulation.stop()
    eventually(lambda: not panel.updater.alive, 20, what="the updater's end")
    assert panel.state == "stopped" and panel.actions == []
    assert [state for index, state in enumerate(log.states) if index == 0 or log.states[index - 1] != state] \
        [-4:] == ["paused", "started", "paused", "stopped"]
    # The logs were read once more at the end, from the archive.
    assert panel.log_files and all(entry["name"] for entry in panel.log_files)


def test_a_runtime_error_arrives_with_file_and_line(live_server_quiet, launched, panels):
    simulation = launched("panel_raises")
    panel = panels(simulation)
    eventually(lambda: panel.state == "paused", 20, what="paused")
    simulation.start()
    eventually(lambda: panel.error.get("msg"), 20, what="the runtime error")
    assert "the panel shows this" in panel.error["msg"]
    assert panel.error["fileName"].endswith("main_script.py") and panel.error["line_number"] == 3
    assert "raise ValueError" in panel.error["line_text"]
    eventually(lambda: panel.state == "completed", 20, what="completed")
    assert panel.actions == ["stop"]


def test_buttons_change_the_server_state(live_server_quiet, launched, panels):
    server = live_server_quiet
    simulation = launched("panel_slow")
    panel = panels(simulation)
    eventually(lambda: panel.actions == ["start", "step", "reset", "stop"], 20, what="the start button")
    for action, wanted, buttons in (("start", "started", ["pause", "stop"]), ("pause", "paused", ["resume", "step", "reset", "stop"]),
                                    ("resume", "started", ["pause", "stop"]), ("stop", "stopped", [])):
        front_end_sends(panel, {"action": action})
        eventually(lambda: rest_state(server, simulation) == wanted, 20,
                   what=f"{wanted} on the server after {action}")
        eventually(lambda: panel.state == wanted and panel.actions == buttons and panel.pending == "", 20,
                   what=f"{wanted} in the panel")
    assert panel.notice == ""


def test_a_request_the_server_refuses_is_shown(live_server_quiet, launched, panels):
    server = live_server_quiet
    simulation = launched("panel_slow")
    simulation.stop()
    panel = panels(simulation)
    eventually(lambda: not panel.updater.alive, 20, what="the updater's end on a stopped simulation")
    # A button pressed just before the panel learned of the stop: the server refuses it.
    panel._run_command("start")
    assert panel.notice.startswith("start failed: ") and "HTTP 400" in panel.notice
    assert panel.pending == "" and rest_state(server, simulation) == "stopped"


def test_two_panels_on_one_simulation_agree(live_server_quiet, launched, panels, connections):
    server = live_server_quiet
    simulation = launched("panel_slow")
    first = panels(simulation)
    # The second one has its own connection, as a second notebook would.
    second = panels(Simulation(connections(server.url, server.token), simulation.id))
    shown = ("state", "actions", "experiment_id")
    for change, wanted in ((None, "paused"), (simulation.start, "started"), (simulation.pause, "paused"),
                           (simulation.stop, "stopped")):
        if change is not None:
            change()
        eventually(lambda: first.state == second.state == wanted == rest_state(server, simulation), 20,
                   what=f"both panels {wanted}")
        eventually(lambda: all(getattr(first, name) == getattr(second, name) for name in shown), 20,
                   what=f"both panels showing the same when {wanted}")
    eventually(lambda: not first.updater.alive and not second.updater.alive, 20, what="both updaters' end")
    assert first.sim_time == second.sim_time and first.log_files == second.log_files


def test_close_leaves_no_thread_and_the_simulation_running(live_server_quiet, launched, panels):
    server = live_server_quiet
    simulation = launched("panel_slow")
    panel = panels(simulation)
    eventually(lambda: panel.connected and panel.state == "paused", 20, what="connected")
    front_end_sends(panel, {"action": "start"})
    eventually(lambda: panel.state == "started", 20, what="started")
    panel.close()
    assert panel_threads() == []
    assert rest_state(server, simulation) == "started"


def test_a_wrong_token_is_refused_with_a_clear_notice(live_server_quiet, panels, connections):
    panel = panels(Simulation(connections(live_server_quiet.url, "not-the-token"), 0))
    eventually(lambda: not panel.updater.alive, 20, what="the updater's end")
    assert "refused the event stream" in panel.notice and "403" in panel.notice


def test_an_unknown_simulation_is_named(live_server_quiet, panels, connections):
    panel = panels(Simulation(connections(live_server_quiet.url, live_server_quiet.token), 987654))
    eventually(lambda: not panel.updater.alive, 20, what="the updater's end")
    assert panel.notice.startswith("simulation 987654: ") and "HTTP 404" in panel.notice


def test_a_panel_opened_after_the_error_still_shows_it(live_server_quiet, launched, panels):
    server = live_server_quiet
    simulation = launched("panel_raises")
    simulation.start()
    simulation.wait_until("completed", timeout=60)
    panel = panels(simulation)
    eventually(lambda: panel.connected and panel.state == "completed", 20, what="the completed state")
    eventually(lambda: panel.error.get("msg"), within_s=5, what="the runtime error")
    assert panel.error["fileName"].endswith("main_script.py") and panel.error["line_number"] == 3
    assert rest_state(server, simulation) == "completed"
