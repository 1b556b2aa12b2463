"""The fast walk through the lifecycle that the subscriber and panel tests watch, and how to
read the states a watcher saw."""

import time

from nrp_jupyter.notebook.client import Simulation

# After the launch (paused): start, pause, resume, pause, resume, stop, with no pause between.
ACTIONS = ("start", "pause", "resume", "pause", "resume", "stop")
# The states each transition leads to, the launch's first.
EXPECTED_STATES = ["paused", "started", "paused", "started", "paused", "started", "stopped"]
EXPECTED_LIFECYCLE = [("created", "paused"), ("paused", "started"), ("started", "paused"),
                      ("paused", "started"), ("started", "paused"), ("paused", "started"),
                      ("started", "stopped")]


def drive(simulation: Simulation) -> list[float]:
    """Runs ACTIONS back to back; returns the seconds each request took."""
    took = []
    for action in ACTIONS:
        began = time.monotonic()
        getattr(simulation, action)()
        took.append(time.monotonic() - began)
    return took


def state_changes(states) -> list[str]:
    """The states in order with repeats dropped (status messages repeat the state every second),
    and without the `created` of status messages sent while the kernel initialises."""
    changes = []
    for state in states:
        if not changes or changes[-1] != state:
            changes.append(state)
    return changes[1:] if changes[:1] == ["created"] else changes
