"""Replaying a recording: its messages in order, each when it is due on the recording's timeline
(its wall time since the first message) played `speed` times as fast, with pause, resume, seek
and speed changes at any time, from any thread; and, optionally, onto MQTT as if live."""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections.abc import Callable, Iterator

from engines.mqtt import topics

CONNECT_TIMEOUT_S = 5.0


class Replay:
    """Iterate it (`for message in replay`) to get each `RecordedMessage` when it is due; or
    `play(on_message)` to do so on a thread of its own, and `wait()` for the end. The timeline
    starts when the iteration does. A consumer slower than the timeline gets the messages it fell
    behind on at once, in order."""

    def __init__(self, messages: list, *, speed: float = 1.0, publisher=None,
                 clock: Callable[[], float] = time.monotonic):
        self._messages = messages
        start = messages[0].wall_time if messages else 0.0
        self._offsets = [message.wall_time - start for message in messages]
        self._publisher = publisher
        self._clock = clock
        self._changed = threading.Condition()
        self._index = 0
        self._position = 0.0  # timeline seconds at `_anchor`
        self._anchor: float | None = None  # the clock when the timeline last (re)started; None: not running
        self._paused = False
        self._stopped = False
        self._speed = _checked_speed(speed)
        self._thread: threading.Thread | None = None
        self.delivered = 0

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "paused" if self._paused else "playing"
        return (f"Replay({state}, {self.position:.3g} of {self.duration:.3g} s, speed {self._speed:g}, "
                f"{self.delivered} of {len(self._messages)} messages)")

    @property
    def duration(self) -> float:
        return self._offsets[-1] if self._offsets else 0.0

    @property
    def position(self) -> float:
        """Seconds on the recording's timeline."""
        with self._changed:
            return self._now()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def speed(self) -> float:
        return self._speed

    @speed.setter
    def speed(self, speed: float) -> None:
        speed = _checked_speed(speed)
        with self._changed:
            self._reanchor()
            self._speed = speed
            self._changed.notify_all()

    def pause(self) -> None:
        with self._changed:
            self._reanchor()
            self._paused = True
            self._changed.notify_all()

    def resume(self) -> None:
        with self._changed:
            self._reanchor()
            self._paused = False
            self._changed.notify_all()

    def seek(self, seconds: float) -> None:
        """Go to `seconds` on the timeline: the next message is the first due at or after it."""
        with self._changed:
            self._position = min(max(0.0, float(seconds)), self.duration)
            self._anchor = self._clock() if self._anchor is not None else None
            self._index = bisect.bisect_left(self._offsets, self._position)
            self._changed.notify_all()

    def stop(self) -> None:
        with self._changed:
            self._stopped = True
            self._changed.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def play(self, on_message: Callable | None = None) -> Replay:
        """Replays on a daemon thread, calling `on_message(message)` for each (and publishing it,
        with `mqtt`); returns at once."""
        if self._thread is not None:
            raise RuntimeError("this replay is already playing")

        def run():
            for message in self:
                if on_message is not None:
                    on_message(message)

        self._thread = threading.Thread(target=run, name="nrp-replay", daemon=True)
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Waits for `play()` to end (the last message, or `stop()`); False if it still plays."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def __iter__(self) -> Iterator:
        if self._publisher is not None:
            self._publisher.open()
        try:
            with self._changed:
                self._anchor = self._clock()
            while (message := self._next()) is not None:
                if self._publisher is not None:
                    self._publisher.publish(message)
                self.delivered += 1
                yield message
        finally:
            if self._publisher is not None:
                self._publisher.close()

    def _next(self):
        with self._changed:
            while not self._stopped and self._index < len(self._messages):
                if self._paused:
                    self._changed.wait()
                    continue
                wait_s = (self._offsets[self._index] - self._now()) / self._speed
                if wait_s <= 0:
                    self._index += 1
                    return self._messages[self._index - 1]
                self._changed.wait(wait_s)
            return None

    def _now(self) -> float:
        if self._anchor is None or self._paused:
            return self._position
        return self._position + (self._clock() - self._anchor) * self._speed

    def _reanchor(self) -> None:
        self._position = self._now()
        self._anchor = self._clock() if self._anchor is not None else None


def _checked_speed(speed: float) -> float:
    speed = float(speed)
    if not speed > 0:
        raise ValueError(f"speed must be a positive factor, not {speed!r}")
    return speed


class MqttReplayPublisher:
    """Publishes replayed messages under `[prefix/]nrp_simulation/<simulation_id>/` on the broker at
    `address`, as recorded: JSON messages as their text, datapacks as their protobuf message, with
    the retained `data` index (the datatransfer engine's) naming each datapack topic's type."""

    def __init__(self, address: str, prefix: str, simulation_id: int, messages: list):
        from engines.mqtt.publisher import parse_broker

        self.host, self.port = parse_broker(address)
        self.base = topics.simulation_base(prefix, simulation_id)
        self._index_topic = topics.data(prefix, simulation_id)
        self._types = {message.topic: message.schema for message in messages
                       if message.topic.startswith("data/")}
        self._client = None
        self._last = None

    def open(self) -> None:
        import paho.mqtt.client as mqtt

        connected = threading.Event()
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=topics.client_id("", "nrp_replay"))
        client.on_connect = lambda *args: connected.set()
        try:
            client.connect(self.host, self.port)
        except OSError as error:
            raise ConnectionError(f"cannot reach the MQTT broker {self.host}:{self.port} to replay: "
                                  f"{error}") from None
        client.loop_start()
        if not connected.wait(CONNECT_TIMEOUT_S):
            client.loop_stop()
            raise ConnectionError(f"the MQTT broker {self.host}:{self.port} did not accept the replay's "
                                  f"connection within {CONNECT_TIMEOUT_S:g} s")
        self._client = client
        if self._types:
            index = [{"topic": f"{self.base}/{topic}", "type": type_name}
                     for topic, type_name in self._types.items()]
            client.publish(self._index_topic, json.dumps(index), qos=1, retain=True)

    def publish(self, message) -> None:
        self._last = self._client.publish(f"{self.base}/{message.topic}", message.data)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self._types:
            # As the engine does at its shutdown: the emptied index ends the streams.
            self._last = client.publish(self._index_topic, b"", qos=1, retain=True)
        if self._last is not None:
            self._last.wait_for_publish(CONNECT_TIMEOUT_S)
        client.disconnect()
        client.loop_stop()
