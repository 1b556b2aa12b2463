"""The event emitter outside a kernel: a swappable sink."""

import pytest

from kernel_ext import events

pytestmark = pytest.mark.timeout(10)


def test_events_go_to_the_installed_sink_and_the_default_drops_them_outside_a_kernel():
    received = []
    previous = events.set_sink(received.append)
    try:
        events.emit("status", state="paused", realTime=0.0)
        events.emit("stopped")
    finally:
        assert events.set_sink(previous) == received.append
    assert received == [{"event": "status", "state": "paused", "realTime": 0.0}, {"event": "stopped"}]
    events.emit("stopped")  # no kernel and no sink: logged only
    assert len(received) == 2
