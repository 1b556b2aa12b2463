"""The steering controls of one simulation, as the panel shows them: the experiment's declared
controls (its steering.json, `GET simulation/<id>/steering`) with the value each was last set to.

A control's value moves only with what the server says took effect: a steering event on
`/events` (whoever sent it: this panel, another one, a REST client, `%nrp set`), or the answer
to this panel's own request. So every panel on a simulation shows the same values, and a
refused change puts the control back where it was.
"""

from __future__ import annotations

from typing import Any

from .frames import FrameError

STEER = "steer"
KINDS = ("slider", "toggle", "number")


class SteeringControls:
    """The declared controls, in the order of the declaration, and their last applied values."""

    def __init__(self, declared: list[dict] | None = None):
        self._declared: list[dict] = []
        self._values: list[Any] = []
        self._notes: list[str] = []
        self.last_applied: float | None = None
        """The simulation time the last change of any control took effect at (s)."""
        if declared:
            self.declare(declared)

    def __len__(self) -> int:
        return len(self._declared)

    def declare(self, declared: list[dict]) -> None:
        """Take the server's list of controls; raises `FrameError` for one the panel cannot draw."""
        checked = [_checked(index, control) for index, control in enumerate(declared)]
        self._declared = checked
        self._values = [control.get("initial", _default(control)) for control in checked]
        self._notes = [""] * len(checked)

    def target(self, index: int) -> dict:
        """`{"engine", "datapack", "field", "type"?}` of control `index`; IndexError if there is none."""
        if not 0 <= index < len(self._declared):
            raise IndexError(f"no steering control {index} (the experiment declares {len(self._declared)})")
        return self._declared[index]

    def request(self, index: int, value: Any) -> tuple[str, str, dict]:
        """(engine, datapack, value to send) for setting control `index` to `value`: the field
        alone, as engines keep the fields a value leaves out. Raises ValueError for a value of the
        wrong kind or outside the declared range, before anything is sent."""
        control = self.target(index)
        kind = control["kind"]
        if kind == "toggle":
            if not isinstance(value, bool):
                raise ValueError(f"{control['label']}: a toggle takes true or false, not {value!r}")
        else:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"{control['label']}: expected a number, not {value!r}")
            low, high = control["range"]
            if not low <= value <= high:
                raise ValueError(f"{control['label']}: {value} is outside [{low}, {high}]")
        return control["engine"], control["datapack"], {control["field"]: value}

    def apply_event(self, payload: Any) -> bool:
        """A steering event `{engine, datapack, value, simulationTime, ...}`; True if a control moved."""
        if not isinstance(payload, dict):
            raise FrameError(f"steering payload must be an object, not {type(payload).__name__}")
        value = payload.get("value")
        when = payload.get("simulationTime")
        moved = False
        for index, control in enumerate(self._declared):
            if (control["engine"], control["datapack"]) != (payload.get("engine"), payload.get("datapack")):
                continue
            if isinstance(value, dict) and control["field"] in value:
                self._values[index] = value[control["field"]]
                self._notes[index] = _applied_note(when, payload.get("who"))
                moved = True
        if moved and isinstance(when, (int, float)) and not isinstance(when, bool):
            self.last_applied = float(when)
        return moved

    def refused(self, index: int, reason: str) -> None:
        """This panel's request for control `index` was refused: the value stays, the note says why."""
        if 0 <= index < len(self._notes):
            self._notes[index] = f"refused: {reason}"

    def queued(self, index: int, ticket: Any) -> None:
        if 0 <= index < len(self._notes):
            self._notes[index] = f"queued (ticket {ticket}), applied at the next step"

    def entries(self, enabled: bool) -> list[dict]:
        """The controls trait's entries: `{action: "steer", control: index, kind, label, value,
        min, max, step, note, enabled}`."""
        listed = []
        for index, control in enumerate(self._declared):
            entry = {"action": STEER, "control": index, "kind": control["kind"], "label": control["label"],
                     "value": self._values[index], "note": self._notes[index], "enabled": enabled}
            if control["kind"] != "toggle":
                entry.update(min=control["range"][0], max=control["range"][1], step=control.get("step"))
            listed.append(entry)
        return listed


def _checked(index: int, control: Any) -> dict:
    where = f"steering control {index}"
    if not isinstance(control, dict):
        raise FrameError(f"{where} must be an object")
    for key in ("engine", "datapack", "field"):
        if not isinstance(control.get(key), str):
            raise FrameError(f"{where}: {key!r} must be a string")
    if control.get("kind") not in KINDS:
        raise FrameError(f"{where}: 'kind' must be one of {', '.join(KINDS)}, not {control.get('kind')!r}")
    if control["kind"] != "toggle":
        bounds = control.get("range")
        if not (isinstance(bounds, list) and len(bounds) == 2
                and all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds)):
            raise FrameError(f"{where}: 'range' must be [low, high]")
    return {**control, "label": str(control.get("label") or f"{control['datapack']}.{control['field']}")}


def _default(control: dict) -> Any:
    return False if control["kind"] == "toggle" else min(max(0, control["range"][0]), control["range"][1])


def _applied_note(when: Any, who: Any) -> str:
    note = f"applied at {when:.3f} s" if isinstance(when, (int, float)) and not isinstance(when, bool) else "applied"
    return f"{note} ({who})" if isinstance(who, str) and who else note
