"""Which buttons a state enables, what each asks the server for, and the controls the front end draws."""

from __future__ import annotations

from typing import Any

# The button's name is the `Simulation` method it calls; start and resume both request "started",
# they differ only in what the user reads on the button.
TARGET_STATE = {"start": "started", "resume": "started", "pause": "paused", "stop": "stopped"}
FINAL_STATES = frozenset({"stopped", "failed"})
# What the front end may send besides the actions: taking back a stop within its undo window.
UNDO = "undo"
# Requests of a paused simulation that leave it paused: N loop steps, and back to time 0.
PAUSED_REQUESTS = ("step", "reset")
LABELS = {"start": "Start", "resume": "Resume", "pause": "Pause", "stop": "Stop", "step": "Step",
          "reset": "Reset"}
PENDING_LABELS = {"start": "Starting…", "resume": "Resuming…", "pause": "Pausing…", "stop": "Stopping…",
                  "step": "Stepping…", "reset": "Resetting…"}


def allowed_actions(state: str, has_run: bool) -> list[str]:
    """The enabled buttons, in display order, for NRP's lifecycle `state`.

    `has_run` tells a simulation that has been started before (paused mid-run: "resume") from
    one that is waiting for its first start ("start").
    """
    if state == "created":
        return ["stop"]
    if state == "paused":
        return ["resume" if has_run else "start", *PAUSED_REQUESTS, "stop"]
    if state == "started":
        return ["pause", "stop"]
    if state == "completed":
        return ["stop"]
    # stopped, failed, or not known yet: nothing to press.
    return []


def controls(actions: list[str], pending: str = "", undo: dict | None = None, steps: int = 1) -> list[dict[str, Any]]:
    """The buttons the front end draws, in order: `{"action", "label", "enabled"}` each, plus
    `"seconds"` for a stop that can still be taken back (its action is then `undo`), and for Step
    an `input` (the number of steps, sent as the message's `value`).

    The front end draws whatever this lists and sends the `action` of the one clicked, so a new
    control is one more entry here and a handler in the widget, with no change to panel.js.
    """
    run = "resume" if "resume" in actions else "start"
    listed = []
    for action in (run, "pause", *PAUSED_REQUESTS, "stop"):
        label = LABELS[action]
        if pending == action:
            label = PENDING_LABELS[action]
        listed.append({"action": action, "label": label, "enabled": not pending and action in actions})
        if action == "step":
            listed[-1]["input"] = {"label": "steps", "value": steps, "min": 1}
    if undo:
        listed[-1] = {"action": UNDO, "label": f"Undo {undo['action']}", "enabled": True,
                      "seconds": undo["seconds"]}
    return listed
