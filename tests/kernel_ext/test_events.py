"""The event emitter outside a kernel: a swappable sink."""

import pytest

from kernel_ext import events
from kernel_ext.protocol import Status, Stopped

pytestmark = pytest.mark.timeout(10)


def test_events_go_to_the_installed_sink_and_the_default_drops_them_outside_a_kernel():
    received = []
    previous = events.set_sink(received.append)
    try:
        events.emit(Status(realTime=0.0, simulationTime=0.0, state="paused", simulationTimeLeft=1.0))
        events.emit(Stopped())
    finally:
        assert events.set_sink(previous) == received.append
    assert received == [{"event": "status", "realTime": 0.0, "simulationTime": 0.0, "state": "paused",
                         "simulationTimeLeft": 1.0}, {"event": "stopped"}]
    events.emit(Stopped())  # no kernel and no sink: logged only
    assert len(received) == 2
