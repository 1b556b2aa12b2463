"""`ControlPanel`: the live control panel of one simulation, as one anywidget.

The front end (panel.js, a plain ES module) draws the state badge, the controls, the times and
progress, the last runtime error, the log tail and the datapack plots from the traits below. Its
buttons send `{"action": "start" | "resume" | "pause" | "stop" | "undo" | "reset"}`, Step
`{"action": "step", "value": N}`, a steering control `{"action": "steer", "control": i, "value"}`;
the REST calls run on threads of their own, so the kernel's message handling never waits on HTTP.
The traits are written only by the panel's updater thread (updater.py), or, for a recorded run
(`ControlPanel.replay`), by the replay's (replaying.py).

Stop takes one click and cannot be undone once sent, so it is sent `stop_undo_s` seconds after
the click: meanwhile the Stop button reads "Undo stop" with the time running out, and a click on
it takes the stop back. With `stop_undo_s=0` a click stops at once.
"""

from __future__ import annotations

import pathlib
import queue
import threading
from collections.abc import Iterable
from typing import Any

import anywidget
import traitlets

from .actions import PAUSED_REQUESTS, TARGET_STATE, UNDO
from .model import PanelModel, initial_values
from .replaying import ReplayDriver
from .steering import STEER
from .updater import PanelUpdater, error_text

_HERE = pathlib.Path(__file__).parent
# How long close() waits for the panel's threads; they are daemons, so a stuck HTTP request
# cannot keep the kernel from exiting.
CLOSE_TIMEOUT_S = 3.0
# How long a clicked Stop can be taken back before it is sent.
STOP_UNDO_S = 3.0
# The buttons that are a request to the server.
REQUESTS = frozenset({*TARGET_STATE, *PAUSED_REQUESTS})
REPLAY_ACTIONS = frozenset({"replay_play", "replay_pause", "replay_seek", "replay_speed"})


class ControlPanel(anywidget.AnyWidget):
    """Live status and controls of `simulation` (a `nrp_jupyter.Simulation`).

    `datapacks` chooses the datapacks to plot (all numeric series that arrive when None);
    `max_points` bounds each plotted series, `log_lines` each log's tail; `max_rate` caps trait
    writes per second. Updates stop when the simulation is stopped or failed, or on `close()`.
    """

    _esm = _HERE / "panel.js"
    _css = _HERE / "panel.css"

    simulation_id = traitlets.Int(help="The simulation's id.").tag(sync=True)
    experiment_id = traitlets.Unicode(help="The experiment it was launched from.").tag(sync=True)
    state = traitlets.Unicode(help="NRP's lifecycle state; empty until known.").tag(sync=True)
    history = traitlets.List(traitlets.Unicode(), help="The states seen, oldest first (the last 20), "
                             "so that changes between two writes still show.").tag(sync=True)
    actions = traitlets.List(traitlets.Unicode(), help="The enabled buttons.").tag(sync=True)
    controls = traitlets.List(traitlets.Dict(), help="The buttons to draw, in order: [{action, label, enabled, "
                              "seconds (of a stop's undo window)}].").tag(sync=True)
    undo = traitlets.Dict(help="The action waiting out its undo window: {action, seconds}, or {}.").tag(sync=True)
    sim_time = traitlets.Float(help="Simulation time, s.").tag(sync=True)
    real_time = traitlets.Float(help="NRP's realTime: the time spent inside run_loop, s.").tag(sync=True)
    wall_time = traitlets.Float(-1.0, help="Wall-clock time since the simulation was started, s; -1 while "
                                "unknown.").tag(sync=True)
    time_left = traitlets.Float(help="Simulation time left until the timeout, s.").tag(sync=True)
    progress = traitlets.Float(-1.0, help="Fraction of the timeout done; -1 while unknown.").tag(sync=True)
    task = traitlets.Unicode(help="The launch or shutdown step under way.").tag(sync=True)
    error = traitlets.Dict(help="The last runtime error (NRP's msg, error_type, fileName, line_number, "
                                "line_text).").tag(sync=True)
    notice = traitlets.Unicode(help="A problem of the panel itself: connection, refused button, ...").tag(sync=True)
    connected = traitlets.Bool(help="Whether the event stream is connected.").tag(sync=True)
    link = traitlets.Unicode(help="connecting, live, reconnecting (the stream was lost), or ended (the "
                             "simulation is over).").tag(sync=True)
    pending = traitlets.Unicode(help="The button whose request is under way.").tag(sync=True)
    log_files = traitlets.List(traitlets.Dict(), help="[{name, lines}]: the tail of each log.").tag(sync=True)
    series = traitlets.Dict(help="{datapack: {series: {t: [...], v: [...]}}}: the plotted data.").tag(sync=True)
    images = traitlets.Dict(help="{datapack: {width, height, encoding, data}}: the latest images.").tag(sync=True)
    steered_at = traitlets.Float(-1.0, help="The simulation time the last steering change took effect at, s; "
                                 "-1 before any.").tag(sync=True)

    def __init__(self, simulation=None, *, recording=None, speed: float = 1.0,
                 datapacks: Iterable[str] | None = None, max_points: int = 500,
                 log_lines: int = 40, max_rate: float = 10.0, log_interval: float = 2.0,
                 stop_undo_s: float = STOP_UNDO_S, **kwargs: Any):
        if (simulation is None) == (recording is None):
            raise ValueError("a ControlPanel shows a simulation or a recording (ControlPanel.replay), one of them")
        if stop_undo_s < 0:
            raise ValueError(f"stop_undo_s must not be negative, not {stop_undo_s}")
        self._closed = False
        self._command: threading.Thread | None = None
        self._delayed: threading.Timer | None = None
        # Undo (the kernel's thread) and the timer's end must not both win.
        self._delayed_lock = threading.Lock()
        # Steering requests go out one at a time, in the order they were made.
        self._steering: queue.SimpleQueue[tuple[int, Any] | None] = queue.SimpleQueue()
        self._steering_thread: threading.Thread | None = None
        self.stop_undo_s = stop_undo_s
        self.simulation = simulation
        self.recording = recording
        if recording is not None:
            simulation_id = int(recording.metadata.get("simulationID", 0) or 0)
            super().__init__(**initial_values(simulation_id), **kwargs)
            if isinstance(recording.metadata.get("experimentID"), str):
                self.experiment_id = recording.metadata["experimentID"]

            def make_model(clock):
                return PanelModel(simulation_id, datapacks=datapacks, max_points=max_points,
                                  log_lines=log_lines, clock=clock, live=False)

            self._updater = ReplayDriver(recording, simulation_id, make_model, self._write, speed=speed,
                                         max_rate=max_rate)
        else:
            model = PanelModel(simulation.id, datapacks=datapacks, max_points=max_points, log_lines=log_lines)
            super().__init__(**initial_values(simulation.id), **kwargs)
            self._updater = PanelUpdater(simulation, model, self._write, max_rate=max_rate,
                                         log_interval=log_interval)
        self.on_msg(self._on_front_end_message)
        self._updater.start()

    @classmethod
    def replay(cls, recording, *, speed: float = 1.0, **kwargs: Any) -> ControlPanel:
        """A panel showing a recorded run (`Simulation.recording()`, `Recording.from_file`): its
        states, times, errors and plots as they were, with Play/Pause, a position slider and the
        speed. It starts playing at once."""
        return cls(recording=recording, speed=speed, **kwargs)

    @property
    def updater(self) -> PanelUpdater | ReplayDriver:
        """The thread that follows the simulation or replays the recording (its `thread`, `alive`, `writes`)."""
        return self._updater

    def close(self) -> None:
        """Stop following the simulation, wait for the panel's threads, close the widget."""
        if not getattr(self, "_closed", True):
            self._closed = True
            self._cancel_delayed()
            self._updater.stop(CLOSE_TIMEOUT_S)
            self._steering.put(None)
            for thread in (self._command, self._steering_thread):
                if thread is not None:
                    thread.join(CLOSE_TIMEOUT_S)
        super().close()

    # -- from the front end (on the kernel's main thread) ---------------------------------------

    def _on_front_end_message(self, _widget, content, _buffers) -> None:
        action = content.get("action") if isinstance(content, dict) else None
        if action == UNDO:
            self._undo()
        elif action in REPLAY_ACTIONS and self.recording is not None:
            self._replay_message(action, content.get("value"))
        elif action == STEER and self.simulation is not None:
            self._steer(content.get("control"), content.get("value"))
        elif action not in REQUESTS or self.simulation is None:
            expected = sorted(REPLAY_ACTIONS) if self.simulation is None else sorted([*REQUESTS, UNDO, STEER])
            self._tell(f"unknown panel message {content!r:.80}; expected {{'action': one of {expected}}}")
        elif self._command is not None and self._command.is_alive():
            self._tell(f"{action} ignored: {self.pending or 'a request'} is under way")
        elif self._delayed is not None:
            self._tell(f"{action} ignored: the stop is about to be sent (undo it first)")
        elif action not in self.actions:
            self._tell(f"cannot {action} a simulation that is {self.state or 'not known yet'}")
        elif action == "stop" and self.stop_undo_s > 0:
            delayed = threading.Timer(self.stop_undo_s, self._send_delayed, args=(action,))
            delayed.daemon = True
            delayed.name = f"nrp-panel-{self.simulation.id}-undo"
            undo = {"action": action, "seconds": self.stop_undo_s}
            self._updater.post(lambda model: (model.set("undo", undo), model.set("notice", "")))
            with self._delayed_lock:
                self._delayed = delayed
            delayed.start()
        elif action == "step":
            steps = content.get("value", 1)
            if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
                self._tell(f"step ignored: the number of steps must be a whole number of at least 1, not {steps!r}")
            else:
                self._request(action, steps=steps)
        else:
            self._request(action)

    def _replay_message(self, action: str, value: Any) -> None:
        driver = self._updater
        try:
            if action == "replay_play":
                driver.play()
            elif action == "replay_pause":
                driver.pause()
            elif action == "replay_seek":
                driver.seek(_number(value, "position"))
            else:
                driver.set_speed(_number(value, "speed"))
        except ValueError as error:
            self._tell(f"{action.removeprefix('replay_')} ignored: {error}")

    # -- steering --------------------------------------------------------------------------------

    def set_control(self, index: int, value: Any) -> None:
        """Set steering control `index` (the order of the experiment's steering.json) to `value`,
        as moving it in the panel does."""
        self._steer(index, value)

    def _steer(self, index: Any, value: Any) -> None:
        model = self._updater.model
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(model.steering):
            self._tell(f"no steering control {index!r} (the experiment declares {len(model.steering)})")
            return
        if self.state not in ("paused", "started"):
            self._tell(f"cannot steer a simulation that is {self.state or 'not known yet'}")
            return
        self._steering.put((index, value))
        if self._steering_thread is None:
            self._steering_thread = threading.Thread(target=self._send_steering, daemon=True,
                                                     name=f"nrp-panel-{self.simulation.id}-steering")
            self._steering_thread.start()

    def _send_steering(self) -> None:
        while (item := self._steering.get()) is not None:
            index, value = item
            self._send_one_steering(index, value)

    def _send_one_steering(self, index: int, value: Any) -> None:
        steering = self._updater.model.steering
        label = steering.target(index)["label"]
        try:
            engine, datapack, sent = steering.request(index, value)
            answer = self.simulation.set_datapack(engine, datapack, sent)
        except Exception as error:  # noqa: BLE001 (whatever failed, the user reads it in the panel)
            reason = error_text(error)

            def refused(model):
                model.steering.refused(index, reason)
                model.rebuild_controls()
                model.set("notice", f"steering {label!r} refused: {reason}")

            self._updater.post(refused)
            return
        if isinstance(answer, dict) and answer.get("status") == "queued":
            def queued(model):
                model.steering.queued(index, answer.get("ticket"))
                model.rebuild_controls()

            self._updater.post(queued)
        # An applied value moves the control with the steering event that every panel receives.
        self._updater.post(lambda model: model.set("notice", ""))

    def _undo(self) -> None:
        if self._cancel_delayed():
            self._updater.post(lambda model: (model.set("undo", {}), model.set("notice", "stop undone")))
        else:
            self._tell("nothing to undo")

    def _cancel_delayed(self) -> bool:
        """Cancel a stop in its undo window; True if there was one."""
        with self._delayed_lock:
            delayed, self._delayed = self._delayed, None
        if delayed is None:
            return False
        delayed.cancel()
        return True

    def _send_delayed(self, action: str) -> None:
        # On the timer's thread; an undo that came first has already cleared _delayed.
        with self._delayed_lock:
            if self._delayed is None or self._closed:
                return
            self._delayed = None
        self._updater.post(lambda model: model.set("undo", {}))
        if action in self.actions:  # not if the simulation ended meanwhile
            self._request(action)

    def _request(self, action: str, **arguments: Any) -> None:
        self._updater.post(lambda model: model.set("pending", action))
        self._command = threading.Thread(target=self._run_command, args=(action,), kwargs=arguments, daemon=True,
                                         name=f"nrp-panel-{self.simulation.id}-{action}")
        self._command.start()

    def _run_command(self, action: str, **arguments: Any) -> None:
        try:
            getattr(self.simulation, action)(**arguments)
        except Exception as error:  # noqa: BLE001 (whatever failed, the user reads it in the panel)
            message = f"{action} failed: {error_text(error)}"
            self._updater.post(lambda model: (model.set("pending", ""), model.set("notice", message)))
            return
        # The new state itself comes with the server's push, in order with every other change;
        # taking it from this answer could put an older state over a newer one.
        self._updater.post(lambda model: (model.set("pending", ""), model.set("notice", "")))

    def _tell(self, notice: str) -> None:
        self._updater.post(lambda model: model.set("notice", notice))

    # -- from the updater thread ----------------------------------------------------------------

    def _write(self, changes: dict[str, Any]) -> None:
        if self._closed:
            return
        # One comm message for all the changes of one write.
        with self.hold_sync():
            for name, value in changes.items():
                setattr(self, name, value)


def _number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"the {name} must be a number, not {value!r}")
    return float(value)
