"""Which buttons a state enables, and what each asks the server for."""

from __future__ import annotations

# The button's name is the `Simulation` method it calls; start and resume both request "started",
# they differ only in what the user reads on the button.
TARGET_STATE = {"start": "started", "resume": "started", "pause": "paused", "stop": "stopped"}
FINAL_STATES = frozenset({"stopped", "failed"})


def allowed_actions(state: str, has_run: bool) -> list[str]:
    """The enabled buttons, in display order, for NRP's lifecycle `state`.

    `has_run` tells a simulation that has been started before (paused mid-run: "resume") from
    one that is waiting for its first start ("start").
    """
    if state == "created":
        return ["stop"]
    if state == "paused":
        return ["resume" if has_run else "start", "stop"]
    if state == "started":
        return ["pause", "stop"]
    if state == "completed":
        return ["stop"]
    # stopped, failed, or not known yet: nothing to press.
    return []
