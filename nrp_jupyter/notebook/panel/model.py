"""What the control panel shows, as plain values, fed by pushed events and REST snapshots.

`PanelModel` is owned by the panel's updater thread. It knows nothing of widgets or sockets:
events and snapshots go in, `take_changes()` hands out the trait values that changed since the
last call, which is how many events between two widget writes coalesce into one write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from .actions import FINAL_STATES, allowed_actions, controls
from .datapacks import DatapackPlots
from .frames import Event, FrameError
from .steering import SteeringControls
from .timeline import SimulationClock

# NRP's runtime_error fields that the panel shows (nrp.md 1.5).
ERROR_FIELDS = ("msg", "error_type", "fileName", "line_number", "offset", "line_text")
# How many states `history` keeps: enough for a pause and a resume between two writes, and more.
HISTORY_LENGTH = 20


# States in which the simulation's time runs on (the wall time since the start stops at the others).
RUNNING_STATES = frozenset({"started", "paused"})


def initial_values(simulation_id: int) -> dict[str, Any]:
    """The trait values before anything is known."""
    return {"simulation_id": simulation_id, "experiment_id": "", "state": "", "actions": [],
            "controls": controls([]), "undo": {}, "history": [], "sim_time": 0.0, "real_time": 0.0,
            "wall_time": -1.0, "time_left": 0.0, "progress": -1.0, "task": "", "error": {}, "notice": "",
            "connected": False, "link": "connecting", "pending": "", "log_files": [], "series": {},
            "images": {}, "steered_at": -1.0}


def link_of(connected: bool, was_connected: bool, state: str) -> str:
    """What the panel says of its connection: a stream that ended with the simulation is no
    fault, and one not opened yet is not lost."""
    if state in FINAL_STATES:
        return "ended"
    if connected:
        return "live"
    return "reconnecting" if was_connected else "connecting"


class PanelModel:
    """The panel's values for one simulation.

    `progress` is the fraction of the simulation timeout done, or -1 while unknown: a status
    tells the time left only when the experiment has a timeout, so the total is learned from the
    first status that reports time left.

    `history` is every state the simulation was seen in, oldest first (the last HISTORY_LENGTH),
    the current one last: `state` coalesces between two writes, so a pause and resume within
    100 ms would leave it `started` as before; the history still shows both.

    `real_time` is NRP's `realTime`: only the time spent inside `run_loop`. `wall_time` is the wall
    clock since the simulation was started, pauses and the script's own work included; a panel
    opened on a simulation that was started before it learns the start from the first status it
    sees (realTime back from then, so at least that long). It stops at completed, stopped, failed.

    `clock` is the panel's clock (s); plots place samples and the wall time on it.

    `steering` holds the experiment's declared controls and their last applied values; they are
    enabled while the simulation is paused or started. A model that is not `live` shows a
    recorded run: it enables no button or control of the simulation, and lists `replay_controls`
    (set by the replay) instead.
    """

    def __init__(self, simulation_id: int, *, datapacks: Iterable[str] | None = None, max_points: int = 500,
                 log_lines: int = 40, clock: Callable[[], float] = time.monotonic, live: bool = True):
        if log_lines < 1:
            raise ValueError(f"log_lines must be at least 1, not {log_lines}")
        self.simulation_id = simulation_id
        self.log_lines = log_lines
        self.plots = DatapackPlots(max_points=max_points, chosen=datapacks)
        self._values = initial_values(simulation_id)
        self._changed: set[str] = set()
        self._clock = clock
        self.sim_clock = SimulationClock()
        self._started_at: float | None = None
        self._was_connected = False
        self._has_run = False
        self._total_time: float | None = None
        self._plots_stale = False
        self.live = live
        self.steering = SteeringControls()
        self._replay_controls: list[dict] = []

    # -- reading -------------------------------------------------------------------------------

    def __getitem__(self, name: str) -> Any:
        self._build_plots()
        return self._values[name]

    @property
    def final(self) -> bool:
        """True once the simulation is stopped or failed: nothing will change any more."""
        return self._values["state"] in FINAL_STATES

    def take_changes(self) -> dict[str, Any]:
        """The values changed since the previous call (empty if none)."""
        self._build_plots()
        changes = {name: self._values[name] for name in sorted(self._changed)}
        self._changed.clear()
        return changes

    @property
    def has_changes(self) -> bool:
        return bool(self._changed) or self._plots_stale

    def _build_plots(self) -> None:
        # Built when read, not per frame: a fast stream would otherwise copy every series for
        # each sample, while the widget only sees one copy per write.
        if self._plots_stale:
            self._plots_stale = False
            self.set("series", self.plots.series(self.sim_clock))
            self.set("images", self.plots.images())

    # -- writing -------------------------------------------------------------------------------

    def touch_all(self) -> None:
        """Count every value as changed, so that the next write sets them all (after a rebuild)."""
        self._changed.update(self._values)

    def set(self, name: str, value: Any) -> None:
        if name not in self._values:
            raise KeyError(f"the panel has no value {name!r}")
        if self._values[name] != value:
            self._values[name] = value
            self._changed.add(name)
            if name in ("connected", "state") and self.live:
                self._was_connected = self._was_connected or self._values["connected"]
                self.set("link", link_of(self._values["connected"], self._was_connected, self._values["state"]))
            if name in ("actions", "pending", "undo", "state"):
                self.rebuild_controls()

    def rebuild_controls(self) -> None:
        """The `controls` trait from the buttons of the state, the steering controls and the replay's."""
        values = self._values
        listed = controls(values["actions"], values["pending"], values["undo"]) if self.live else []
        listed += self.steering.entries(self.live and values["state"] in RUNNING_STATES)
        self.set("controls", listed + self._replay_controls)

    def declare_steering(self, declared: list[dict]) -> None:
        """The experiment's steering controls (`GET simulation/<id>/steering`); raises `FrameError`."""
        self.steering.declare(declared)
        self.rebuild_controls()

    def set_replay_controls(self, listed: list[dict]) -> None:
        self._replay_controls = listed
        self.rebuild_controls()

    def apply(self, event: Event) -> None:
        """Take one pushed event; raises `FrameError` for a payload it cannot use."""
        if event.simulation_id != self.simulation_id:
            return
        payload = event.payload
        if event.leaf == "status":
            if not isinstance(payload, dict):
                raise FrameError(f"status payload must be an object, not {type(payload).__name__}")
            if "progress" in payload:
                self._apply_progress(payload["progress"])
            else:
                self._apply_status(payload)
        elif event.leaf == "runtime_error":
            self._apply_error(payload)
        elif event.leaf == "steering":
            if self.steering.apply_event(payload):
                self.rebuild_controls()
                if self.steering.last_applied is not None:
                    self.set("steered_at", self.steering.last_applied)
        elif event.leaf == "lifecycle":
            if isinstance(payload, dict) and isinstance(payload.get("target_state"), str):
                self._set_state(payload["target_state"])
        elif event.datapack is not None:
            series_changed, image_changed = self.plots.add(event.datapack, payload, self._clock())
            self._plots_stale = self._plots_stale or series_changed or image_changed
        # Other leaves (the datatransfer engine's welcome, the data index) do not concern the panel.

    def apply_info(self, info: dict) -> None:
        """A REST snapshot: NRP's Simulation JSON (state, experimentID), plus `runtimeError` and
        `status` where the server adds them."""
        if isinstance(info.get("experimentID"), str):
            self.set("experiment_id", info["experimentID"])
        if isinstance(info.get("state"), str):
            self._set_state(info["state"])
        if isinstance(info.get("runtimeError"), dict):
            self._apply_error(info["runtimeError"])
        if isinstance(info.get("status"), dict):
            self._apply_times(info["status"])

    def apply_logs(self, body: Any) -> None:
        """`GET simulation/<id>/logs`: `{"files": [{"name", "content"}]}`; keeps the last lines of each."""
        files = body.get("files") if isinstance(body, dict) else None
        if not isinstance(files, list):
            raise FrameError("logs answer has no list 'files'")
        tails = []
        for entry in files:
            if not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
                raise FrameError(f"logs answer: a file entry without text 'content': {entry!r:.80}")
            lines = entry["content"].splitlines()[-self.log_lines:]
            tails.append({"name": str(entry.get("name", "")), "lines": "\n".join(lines)})
        self.set("log_files", tails)

    # -- details -------------------------------------------------------------------------------

    def _set_state(self, state: str) -> None:
        if self.final and state not in FINAL_STATES:
            # Nothing leaves a final state; a REST answer or a frame that says otherwise was
            # sent before the end and arrived after it.
            return
        if state == "started":
            self._has_run = True
            if self._started_at is None and self._values["state"] in ("created", "paused"):
                self._started_at = self._clock()  # seen starting: the wall clock starts now
            if self._values["state"] == "paused":
                # The simulation stood still while paused: it goes on from there now. Without this
                # point, samples after a resume would be placed as if it had run through the pause.
                self.sim_clock.add(self._clock(), self._values["sim_time"])
        if state != self._values["state"]:
            self.set("history", [*self._values["history"], state][-HISTORY_LENGTH:])
        self.set("state", state)
        if state == "completed" and self._total_time is not None:
            self.set("progress", 1.0)
        if state in FINAL_STATES:
            self.set("task", "")
        self.set("actions", allowed_actions(state, self._has_run) if self.live else [])

    def _apply_status(self, payload: dict) -> None:
        self._apply_times(payload)
        if isinstance(payload.get("state"), str):
            self._set_state(payload["state"])

    def _apply_times(self, payload: dict) -> None:
        times = {}
        for key, name in (("simulationTime", "sim_time"), ("realTime", "real_time"),
                          ("simulationTimeLeft", "time_left")):
            value = payload.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FrameError(f"status key {key!r} must be a number, not {value!r}")
            times[name] = float(value)
        for name, value in times.items():
            self.set(name, value)
        sim_time, left = times.get("sim_time"), times.get("time_left")
        now = self._clock()
        if sim_time is not None:
            self.sim_clock.add(now, sim_time)
            # Samples placed by an earlier guess move to where this status puts them.
            self._plots_stale = self._plots_stale or self.plots.has_series
        if sim_time is not None and sim_time > 0:
            self._has_run = True
            if self._started_at is None:
                # Started before this panel knew it: at least realTime ago.
                self._started_at = now - times.get("real_time", 0.0)
        if self._started_at is not None and self._values["state"] not in FINAL_STATES | {"completed"}:
            self.set("wall_time", max(0.0, now - self._started_at))
        if sim_time is not None and left is not None:
            if left > 0:
                self._total_time = sim_time + left
            if self._total_time:
                self.set("progress", min(1.0, sim_time / self._total_time))

    def _apply_progress(self, progress: Any) -> None:
        if not isinstance(progress, dict):
            raise FrameError(f"status key 'progress' must be an object, not {progress!r}")
        if progress.get("done"):
            self.set("task", "")
            return
        task, subtask = str(progress.get("task", "")), str(progress.get("subtask", ""))
        count, index = progress.get("number_of_subtasks"), progress.get("subtask_index")
        text = f"{task}: {subtask}" if subtask else task
        if isinstance(count, int) and isinstance(index, int) and count > 1:
            text += f" ({index + 1}/{count})"
        self.set("task", text)

    def _apply_error(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise FrameError(f"runtime_error payload must be an object, not {type(payload).__name__}")
        self.set("error", {key: payload[key] for key in ERROR_FIELDS if key in payload})
