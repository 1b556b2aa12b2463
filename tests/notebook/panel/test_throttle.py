"""Under a fast event stream the panel coalesces: at most about 10 widget updates a second,
and the last one holds the last values."""

import time

import pytest

from tests.notebook.panel.frame_server import frame, status
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)

FRAMES = 3000
MIN_GAP_S = 0.1
BURST, BURST_PAUSE_S = 50, 0.04


def test_a_fast_stream_gives_at_most_10_updates_a_second(frame_server, panels, recorded_comms, simulation_of):
    sent = {}

    def flood(ws, _):
        started = time.monotonic()
        for step in range(1, FRAMES + 1):
            ws.send(status(1, "started", step * 0.001, left=(FRAMES - step) * 0.001))
            if step % BURST == 0:
                # Bursts over about 2 s: long enough for the throttle to show, about 1000 frames a second.
                time.sleep(BURST_PAUSE_S)
        sent["seconds"] = time.monotonic() - started

    server = frame_server(on_connect=flood)
    panel = panels(simulation_of(server))
    eventually(lambda: panel.sim_time == pytest.approx(FRAMES * 0.001), 60, what="the last frame's time")
    eventually(lambda: "seconds" in sent, 20, what="the end of the flood")
    updates = panel.comm.updates()
    times = [when for when, state in updates if "sim_time" in state]
    assert len(times) >= 5, "the stream ended too soon to see the throttle"
    gaps = [later - earlier for earlier, later in zip(times, times[1:])]
    span = times[-1] - times[0]
    print(f"{FRAMES} frames sent in {sent['seconds']:.2f} s; {len(times)} updates with sim_time over {span:.2f} s; "
          f"smallest gap {min(gaps, default=0) * 1000:.0f} ms")
    # Far fewer writes than frames, and never two within 100 ms (a little slack for the clock).
    assert len(times) < FRAMES / 10
    assert min(gaps, default=MIN_GAP_S) >= MIN_GAP_S * 0.95
    assert len(times) <= span / MIN_GAP_S + 1
    # The last update carries the last values.
    last = updates[-1][1] if "sim_time" in updates[-1][1] else next(s for _, s in reversed(updates) if "sim_time" in s)
    assert last["sim_time"] == pytest.approx(FRAMES * 0.001) and last["time_left"] == 0.0
    assert panel.updater.writes == len(updates)


def test_a_fast_datapack_stream_is_coalesced_too(frame_server, panels, recorded_comms, simulation_of):
    def flood(ws, _):
        for step in range(2000):
            ws.send(frame(1, "data/joints", {"datapack": "joints", "type": "json",
                                             "samples": [{"time": step * 0.01, "values": {"angle": float(step)}}]}))
            if step % BURST == 0:
                time.sleep(BURST_PAUSE_S)

    server = frame_server(on_connect=flood)
    panel = panels(simulation_of(server), max_points=100)
    eventually(lambda: panel.series.get("joints", {}).get("angle", {}).get("v", [None])[-1] == 1999.0,
               60, what="the last sample")
    series_updates = [when for when, state in panel.comm.updates() if "series" in state]
    assert len(series_updates) >= 5
    assert len(series_updates) < 200
    gaps = [later - earlier for earlier, later in zip(series_updates, series_updates[1:])]
    assert min(gaps, default=MIN_GAP_S) >= MIN_GAP_S * 0.95
    assert panel.series["joints"]["angle"]["v"] == [float(step) for step in range(1900, 2000)]
