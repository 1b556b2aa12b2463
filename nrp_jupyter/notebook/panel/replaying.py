"""A recorded run in the control panel: the recording's messages go into the panel's model as
the live stream's would, each when the replay's timeline reaches it, on one thread that is the
only writer of the widget's traits (as the live panel's updater is).

The timeline is the client's `Replay` (play, pause, seek, speed). The thread looks at its
position every tick and applies the messages up to it; a seek back starts from a fresh model and
applies everything up to the new position at once, so what the panel shows at a position never
depends on how it got there.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from engines.mqtt.samples import image_of, series_of

from .frames import Event, FrameError
from .model import PanelModel

# How often the thread moves the panel along the timeline (s).
TICK_S = 0.1
MAX_SPEED = 100.0


def event_of(simulation_id: int, message) -> Event | None:
    """The panel's `Event` for one `RecordedMessage`; None for one the panel does not show.

    A recorded datapack is the engine's protobuf message: it becomes the live stream's sample
    (the same decoding as the server's datapack stream)."""
    payload = message.payload
    if message.topic.startswith("data/"):
        if not isinstance(payload, Message):
            return None
        image = image_of(payload)
        payload = {"samples": [] if image else [{"time": 0.0, "values": series_of(payload)}], "image": image}
        if image is None:
            del payload["image"]
    return Event(simulation_id, message.topic, payload)


class ReplayDriver:
    """Replays `recording` into models made by `make_model(clock)`, writing changes with `write`."""

    def __init__(self, recording, simulation_id: int, make_model: Callable[[Callable[[], float]], PanelModel],
                 write: Callable[[dict[str, Any]], None], *, speed: float = 1.0, max_rate: float = 10.0):
        self.simulation_id = simulation_id
        self._messages = list(recording.messages)
        origin = self._messages[0].wall_time if self._messages else 0.0
        self._offsets = [message.wall_time - origin for message in self._messages]
        self.duration = self._offsets[-1] if self._offsets else 0.0
        self.timeline = recording.replay(speed=speed)
        self._make_model = make_model
        self._write = write
        self._min_write_interval = 1.0 / max_rate
        self._moment = 0.0
        self.model = self._fresh_model()
        self._next = 0  # the first message not applied yet
        self._position = 0.0
        self._inbox: queue.SimpleQueue[Callable[[PanelModel], None]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_write = float("-inf")
        self.writes = 0
        self.ignored_messages = 0

    # -- control, from any thread ---------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"nrp-panel-{self.simulation_id}-replay",
                                        daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    @property
    def position(self) -> float:
        """Seconds on the recording's timeline, at most its duration."""
        return min(self.timeline.position, self.duration)

    def play(self) -> None:
        if self.position >= self.duration:
            self.timeline.seek(0.0)  # at the end, Play plays it again
        self.timeline.resume()

    def pause(self) -> None:
        self.timeline.pause()

    def seek(self, seconds: float) -> None:
        self.timeline.seek(seconds)

    def set_speed(self, speed: float) -> None:
        if not 0 < speed <= MAX_SPEED:
            raise ValueError(f"speed must be above 0 and at most {MAX_SPEED:g}, not {speed}")
        self.timeline.speed = speed

    def post(self, change: Callable[[PanelModel], None]) -> None:
        """Run `change(model)` on the replay's thread (here and now once it has ended)."""
        if self.alive:
            self._inbox.put(change)
        else:
            change(self.model)
            self._flush(force=True)

    def stop(self, timeout: float = 2.0) -> bool:
        self._stopping.set()
        self.timeline.stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self.alive

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        self.timeline.play()  # starts the timeline; this thread reads its position
        while not self._stopping.is_set():
            while not self._inbox.empty():
                self._inbox.get_nowait()(self.model)
            self.advance()
            self._flush()
            self._stopping.wait(TICK_S)

    def advance(self) -> None:
        """Apply the messages up to the timeline's position (from the start after a seek back)."""
        position = self.position
        if position < self._position:
            self.model = self._fresh_model()
            self.model.touch_all()  # the widget still shows what the later messages set
            self._next = 0
        while self._next < len(self._messages) and self._offsets[self._next] <= position:
            self._apply(self._messages[self._next])
            self._next += 1
        self._position = position
        self.model.set_replay_controls(self._controls(position))

    def _apply(self, message) -> None:
        self._moment = message.wall_time
        try:
            event = event_of(self.simulation_id, message)
            if event is not None:
                self.model.apply(event)
        except FrameError as error:
            self.ignored_messages += 1
            self.model.set("notice", f"ignored a recorded message: {error}")

    def _controls(self, position: float) -> list[dict]:
        playing = not self.timeline.paused and position < self.duration
        return [
            {"action": "replay_pause" if playing else "replay_play", "label": "Pause" if playing else "Play",
             "enabled": True},
            {"action": "replay_seek", "kind": "slider", "label": "Position (s)", "value": round(position, 1),
             "min": 0.0, "max": round(self.duration, 1), "step": 0.1, "enabled": True,
             "note": f"{position:.1f} of {self.duration:.1f} s"},
            {"action": "replay_speed", "kind": "number", "label": "Speed", "value": self.timeline.speed,
             "min": 0.1, "max": MAX_SPEED, "step": 0.5, "enabled": True},
        ]

    def _fresh_model(self) -> PanelModel:
        model = self._make_model(lambda: self._moment)
        model.set("link", "replay")
        return model

    def _flush(self, force: bool = False) -> None:
        if not self.model.has_changes:
            return
        now = time.monotonic()
        if not force and now - self._last_write < self._min_write_interval:
            return
        self._last_write = now
        self.writes += 1
        self._write(self.model.take_changes())
