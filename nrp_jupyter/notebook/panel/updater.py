"""The control panel's one background thread: follows the event stream, keeps the panel's
model, and writes the widget's traits at most `max_rate` times a second.

Traitlets are not thread-safe, so this thread is the only writer of the widget's traits while it
runs; other threads (button commands) hand it their outcome with `post()`. On every
(re)connection it reads the simulation and its logs over REST, so a panel opened late, or one
that lost its socket for a while, shows what every other panel shows. It ends, after a last
refresh, when the simulation is stopped or failed, or when `stop()` is called.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from .event_stream import Backoff, EventStream, StreamLost, StreamRefused
from .frames import FrameError, parse_frame
from .model import PanelModel

log = logging.getLogger(__name__)

Writer = Callable[[dict[str, Any]], None]
# HTTP answers to a REST read that end the panel's updates instead of a retry.
FINAL_HTTP_STATUSES = frozenset({401, 403, 404})
# The longest the thread blocks on the socket, so that stop() is honoured soon.
MAX_WAIT_S = 0.2
# Frames read without waiting once the simulation has ended; more would only be late echoes.
MAX_DRAINED_FRAMES = 1000


def error_text(error: BaseException) -> str:
    """What the user reads about a failed request: NRP's message where the error carries one."""
    message = getattr(error, "message", None)
    status = getattr(error, "status", None)
    text = message if isinstance(message, str) and message else (str(error) or type(error).__name__)
    return f"{text} (HTTP {status})" if isinstance(status, int) else text


class _Finished(Exception):
    """Internal: the simulation is over, or the server will not let this panel follow it."""


class PanelUpdater:
    """Follows one simulation for one panel; `write(changes)` receives coalesced trait values."""

    def __init__(self, simulation, model: PanelModel, write: Writer, *, max_rate: float = 10.0,
                 log_interval: float = 2.0, backoff: Backoff | None = None):
        if max_rate <= 0:
            raise ValueError(f"max_rate must be positive, not {max_rate}")
        self.simulation = simulation
        self.model = model
        self._write = write
        self.min_write_interval = 1.0 / max_rate
        self.log_interval = log_interval
        self._backoff = backoff or Backoff()
        self._inbox: queue.SimpleQueue[Callable[[PanelModel], None]] = queue.SimpleQueue()
        self._stopping = threading.Event()
        # Guards the hand-over of post()s when the thread ends: after it, posts run in the caller.
        self._accepting_lock = threading.Lock()
        self._accepting = False
        self._thread: threading.Thread | None = None
        self._last_write = float("-inf")
        self._next_logs = 0.0
        self._steering_read = False
        self.writes = 0
        """How many times traits were written (one widget message each)."""
        self.ignored_frames = 0

    # -- control, from any thread ---------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("the panel updater was started already")
        self._accepting = True
        self._thread = threading.Thread(target=self._run, name=f"nrp-panel-{self.model.simulation_id}",
                                        daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def post(self, change: Callable[[PanelModel], None]) -> None:
        """Run `change(model)` on the updater thread, or here and now once that has ended."""
        with self._accepting_lock:
            if self._accepting:
                self._inbox.put(change)
                return
        change(self.model)
        self._flush(force=True)

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to end and wait up to `timeout`; True if it has ended."""
        self._stopping.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        return not self.alive

    # -- the thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                try:
                    self._follow()
                except StreamLost as error:
                    self._lost(str(error))
        except _Finished:
            pass
        except Exception as error:  # noqa: BLE001 (the thread must say why it ended, not vanish)
            log.exception("the control panel's updater failed")
            self.model.set("notice", f"updates ended: {error_text(error)}")
        finally:
            self.model.set("connected", False)
            with self._accepting_lock:
                self._accepting = False
                self._drain_inbox()
            if not self._stopping.is_set():
                self._flush(force=True)

    def _follow(self) -> None:
        """One connection: open, resynchronise over REST, then apply frames until it breaks."""
        stream = EventStream(self.simulation.connection.events_url(self.simulation.id),
                             self.simulation.connection.headers())
        try:
            try:
                stream.connect()
            except StreamRefused as error:
                self.model.set("notice", str(error))
                raise _Finished() from None
            self._backoff.reset()
            # Connected first, read second: whatever changes between the two arrives as a frame.
            self._refresh()
            self.model.set("connected", True)
            self.model.set("notice", "")
            while not self._stopping.is_set():
                self._drain_inbox()
                if self.model.final:
                    self._drain_stream(stream)
                    self._final_refresh()
                    raise _Finished()
                if time.monotonic() >= self._next_logs:
                    self._refresh_logs()
                self._flush()
                frame = stream.receive(self._wait_time())
                if frame is not None:
                    self._apply_frame(frame)
        finally:
            stream.close()

    def _drain_stream(self, stream: EventStream) -> None:
        """Apply the frames already received (the last status before the end, say)."""
        for _ in range(MAX_DRAINED_FRAMES):
            frame = stream.receive(0)
            if frame is None:
                return
            self._apply_frame(frame)

    def _lost(self, reason: str) -> None:
        delay = self._backoff.next_delay()
        log.info("control panel of simulation %d: %s; reconnecting in %.1f s", self.model.simulation_id, reason,
                 delay)
        self.model.set("connected", False)
        self.model.set("notice", f"no connection to the server ({reason}); retrying in {delay:.1f} s")
        deadline = time.monotonic() + delay
        while not self._stopping.is_set() and time.monotonic() < deadline:
            self._drain_inbox()
            self._flush()
            self._stopping.wait(min(MAX_WAIT_S, max(0.0, deadline - time.monotonic())))

    def _apply_frame(self, frame: str) -> None:
        try:
            self.model.apply(parse_frame(frame))
        except FrameError as error:
            # One bad frame (say, a datapack the panel cannot draw) must not stop the panel.
            self.ignored_frames += 1
            log.warning("control panel of simulation %d ignored a frame: %s", self.model.simulation_id, error)
            self.model.set("notice", f"ignored a message: {error}")

    def _refresh(self) -> None:
        """Read the simulation and its logs over REST."""
        try:
            info = self.simulation.details()
        except Exception as error:  # noqa: BLE001 (any client error: the status says which)
            self._rest_failed(error)
            return
        self.model.apply_info(info)
        self._read_steering()
        self._refresh_logs()

    def _read_steering(self) -> None:
        """The experiment's declared steering controls, once: they do not change while it runs."""
        if self._steering_read or self.model.final:
            return
        try:
            declared = self.simulation.steering_controls()
            self.model.declare_steering(declared)
        except FrameError as error:
            self.model.set("notice", f"steering controls not shown: {error}")
        except Exception as error:  # noqa: BLE001
            if getattr(error, "status", None) != 404:  # a server without steering: a panel without it
                self._rest_failed(error)
                return
            self.model.set("notice", f"steering controls not shown: {error_text(error)}")
        self._steering_read = True

    def _final_refresh(self) -> None:
        """The last read, for the archived logs; the panel ends whatever it answers."""
        try:
            self._refresh()
        except StreamLost as error:
            self.model.set("notice", f"could not read the final logs: {error}")

    def _refresh_logs(self) -> None:
        self._next_logs = time.monotonic() + self.log_interval
        try:
            body = self.simulation.connection.request("GET", f"simulation/{self.simulation.id}/logs")
        except Exception as error:  # noqa: BLE001
            self._rest_failed(error)
            return
        try:
            self.model.apply_logs(body)
        except FrameError as error:
            self.model.set("notice", str(error))

    def _rest_failed(self, error: BaseException) -> None:
        status = getattr(error, "status", None)
        if status in FINAL_HTTP_STATUSES:
            self.model.set("notice", f"simulation {self.simulation.id}: {error_text(error)}")
            raise _Finished() from error
        raise StreamLost(f"REST request failed: {error_text(error)}") from error

    def _drain_inbox(self) -> None:
        while True:
            try:
                change = self._inbox.get_nowait()
            except queue.Empty:
                return
            change(self.model)

    def _wait_time(self) -> float:
        now = time.monotonic()
        wait = min(MAX_WAIT_S, max(0.0, self._next_logs - now))
        if self.model.has_changes:
            wait = min(wait, max(0.0, self._last_write + self.min_write_interval - now))
        return wait

    def _flush(self, force: bool = False) -> None:
        """Write what changed, unless the last write was less than min_write_interval ago."""
        if not self.model.has_changes:
            return
        now = time.monotonic()
        if not force and now - self._last_write < self.min_write_interval:
            return
        changes = self.model.take_changes()
        self._last_write = now
        self.writes += 1
        self._write(changes)
