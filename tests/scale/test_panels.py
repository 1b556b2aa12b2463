"""Ten control panels (Python side, no browser) on one simulation through a fast walk of the
lifecycle: each panel's `history`, which the front end shows beside the state, has every state
in order, although the panel writes its traits at most ten times a second."""

import time

import pytest

from nrp_jupyter.notebook.client import Connection, launch
from nrp_jupyter.notebook.panel import ControlPanel
from tests.notebook.panel.conftest import panel_threads
from tests.notebook.panel.recording_comm import RecordingComm
from tests.scale.conftest import RUNS_UNTIL_STOPPED
from tests.scale.transitions import EXPECTED_STATES, drive
from tests.waiting import eventually

PANELS = 10


def shown_history(comm: RecordingComm) -> list[str]:
    """The last `history` the front end was sent."""
    sent = [state["history"] for _, state in comm.updates() if "history" in state]
    return sent[-1] if sent else []


def written_states(comm: RecordingComm) -> list[str]:
    """The `state` values sent to the front end, in order (coalesced to at most ten writes a second)."""
    return [state["state"] for _, state in comm.updates() if "state" in state]


@pytest.mark.timeout(120)
def test_ten_panels_lose_no_transition(scale_server, recorded_comms):
    connections = [Connection(scale_server.url, scale_server.token) for _ in range(PANELS + 1)]
    panels = []
    try:
        simulation = launch(RUNS_UNTIL_STOPPED, connection=connections[0])
        for connection in connections[1:]:
            panels.append(ControlPanel(type(simulation)(connection, simulation.id)))
        eventually(lambda: all(panel.connected and panel.state == "paused" for panel in panels), 30,
                   "every panel connected, showing paused")
        drive(simulation)
        stopped_at = time.monotonic()
        eventually(lambda: not any(panel.updater.alive for panel in panels), 30, "every panel's end")
        print(f"\n{PANELS} panels: all ended {(time.monotonic() - stopped_at) * 1e3:.0f} ms after the stop "
              f"answered; writes per panel {[panel.updater.writes for panel in panels]}; states the first "
              f"panel's `state` trait was written with: {written_states(panels[0].comm)}")
        for index, panel in enumerate(panels):
            assert panel.history == EXPECTED_STATES, (index, panel.history)
            assert panel.state == "stopped" and panel.actions == []
            assert shown_history(panel.comm) == EXPECTED_STATES, index
    finally:
        for panel in panels:
            panel.close()
        for connection in connections:
            connection.close()
    assert not panel_threads()
