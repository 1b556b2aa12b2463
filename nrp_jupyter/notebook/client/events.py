"""The server's /events WebSocket as a blocking iterator of messages, for scripts and the CLI.

Each message is `{"simulationID": int, "topic": str, "payload": ...}`: topic "status" (NRP's status
or progress payload), "runtime_error", "lifecycle", or "data/<datapack>". The server sends the full
MQTT topic for the first three (`[<prefix>/]nrp_simulation/<id>/status`); the stream gives the part
after `nrp_simulation/<id>/` as "topic" and keeps the full one as "mqttTopic".

A reader thread receives frames as they come (and answers the server's pings), so that a slow
consumer never makes the server drop the connection; `next(timeout)` takes them in order.
"""

from __future__ import annotations

import json
import queue
import threading

import websocket

from .errors import NrpError, ServerUnreachable, error_from_response

_CLOSED = object()
_TOPIC_ROOT = "nrp_simulation"


def topic_leaf(topic: str) -> str:
    """`status` for `[<prefix>/]nrp_simulation/<id>/status`; any other topic unchanged."""
    levels = topic.split("/")
    for index in range(len(levels) - 2):
        if levels[index] == _TOPIC_ROOT and levels[index + 1].isdigit():
            return "/".join(levels[index + 2:])
    return topic


def _with_leaf(message):
    topic = message.get("topic") if isinstance(message, dict) else None
    if isinstance(topic, str) and (leaf := topic_leaf(topic)) != topic:
        message = {**message, "topic": leaf, "mqttTopic": topic}
    return message


class EventStream:
    """A subscription to `<url>nrp/events` (all simulations, or `simulation_id`'s only)."""

    def __init__(self, connection, simulation_id: int | None = None, *, timeout: float = 10):
        url = connection.events_url(simulation_id)
        header = [f"{name}: {value}" for name, value in connection.headers().items()]
        try:
            self._socket = websocket.create_connection(url, header=header, timeout=timeout,
                                                       enable_multithread=True)
        except websocket.WebSocketBadStatusException as error:
            raise error_from_response(error.status_code, "", error.resp_body or b"", f"GET {url}") from error
        except (OSError, websocket.WebSocketException) as error:
            raise ServerUnreachable(f"cannot open the event stream {url}: {error}",
                                    request=f"GET {url}") from error
        # Blocking reads from here on: the reader thread waits for frames, close() wakes it.
        self._socket.settimeout(None)
        self._messages: queue.Queue = queue.Queue()
        self.closed = False
        self._reader = threading.Thread(target=self._read, name=f"nrp-events-{simulation_id}", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                frame = self._socket.recv()
                if not frame:  # closed by the server
                    break
                try:
                    self._messages.put(_with_leaf(json.loads(frame)))
                except ValueError:
                    continue
        except (OSError, websocket.WebSocketException):
            pass
        finally:
            self._messages.put(_CLOSED)

    def next(self, timeout: float | None = None) -> dict | None:
        """The next message, waiting up to `timeout` seconds (None: forever); None on timeout.
        Raises `NrpError` once the stream has closed and every message was taken."""
        if self.closed and self._messages.empty():
            raise NrpError("the event stream is closed")
        try:
            message = self._messages.get(timeout=timeout)
        except queue.Empty:
            return None
        if message is _CLOSED:
            self.closed = True
            raise NrpError("the event stream was closed by the server")
        return message

    def __iter__(self):
        while True:
            try:
                yield self.next()
            except NrpError:
                return

    def close(self) -> None:
        """Closes the WebSocket and ends the reader thread."""
        self.closed = True
        try:
            self._socket.close(timeout=1)
        except (OSError, websocket.WebSocketException):
            pass
        self._reader.join(timeout=2)

    def __enter__(self) -> EventStream:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
