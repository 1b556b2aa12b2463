"""The datapack stream: what datatransfer engines publish on MQTT, decoded into numbers and pushed to
the /events WebSocket listeners for live plots.

The bridge subscribes (paho, on its own network thread) to `[prefix/]nrp_simulation/+/data`, the
retained index that names each datapack topic's protobuf type, and `.../data/#`, the datapacks.
Each datapack is decoded on paho's thread (engines.mqtt.samples) into a sample
`{"time", "values"}`, where time is seconds since this bridge received the simulation's first
sample, and added to a bounded batch per simulation and datapack. The batches are flushed on the
server's event loop at most every `flush_interval_s`: paho's thread only hands over a flush request
with `call_soon_threadsafe`, once per batch window, so a fast stream costs the loop one wake-up
per window. Each flush sends, per datapack, the listener message

    topic    "data/<datapack name>"
    payload  {"datapack": <name>, "type": <protobuf full name>,
              "samples": [{"time": float, "values": {<series>: float}}, ...],
              "image": {"width", "height", "encoding": "rgb8"|"mono8", "data": <base64>}}  (latest only, if any)

The bridge only listens: nothing goes back to MQTT. A payload that cannot be decoded is logged
(a warning for the first one of a topic, debug after) and skipped; unknown types likewise.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from engines.mqtt import topics
from engines.mqtt.publisher import parse_broker
from engines.mqtt.samples import UndecodablePayload, decode

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.1
# Samples kept per datapack between two flushes; older ones are dropped (and counted) beyond it.
MAX_BATCH_SAMPLES = 256
_RESET = b"reset"
_STOP_WAIT_S = 1.0


@dataclass
class _Batch:
    type: str
    samples: collections.deque = field(default_factory=lambda: collections.deque(maxlen=MAX_BATCH_SAMPLES))
    image: dict | None = None


class DataBridge:
    """Forwards the datapack streams of every simulation on one broker to `publisher`'s listeners."""

    def __init__(self, broker: str, prefix: str, publisher, loop: asyncio.AbstractEventLoop, *,
                 flush_interval_s: float = FLUSH_INTERVAL_S, max_batch_samples: int = MAX_BATCH_SAMPLES):
        self.host, self.port = parse_broker(broker)
        self.prefix = topics.validate_prefix(prefix)
        self._publisher = publisher
        self._loop = loop
        self._flush_interval_s = flush_interval_s
        self._max_batch_samples = max_batch_samples
        #: Samples dropped because a batch was full, and payloads that could not be decoded.
        self.dropped = 0
        self.undecodable = 0
        # Touched by paho's thread only.
        self._types: dict[tuple[int, str], str] = {}
        self._origins: dict[int, float] = {}
        self._warned_topics: set[str] = set()
        # Shared with the event loop.
        self._lock = threading.Lock()
        self._pending: dict[tuple[int, str], _Batch] = {}
        self._flush_requested = False
        self._last_flush = 0.0
        self._client: mqtt.Client | None = None
        self.subscribed = threading.Event()
        # Called on paho's thread with each raw datapack (the run recorder); they must not block.
        self._taps: list = []

    def add_tap(self, tap) -> None:
        """`tap(simulation_id, datapack, wire_type or None, payload bytes)` for every datapack as it
        arrives, before decoding, on paho's thread."""
        self._taps.append(tap)

    @property
    def filters(self) -> list[str]:
        return topics.data_filters(self.prefix)

    def start(self) -> None:
        """Connect in the background (reconnecting by itself) and return at once."""
        if self._client is not None:
            return
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=topics.client_id(self.prefix, "nrp_data_bridge"), clean_session=True)
        client.suppress_exceptions = True  # an exception in a callback must not end paho's thread
        client.reconnect_delay_set(min_delay=0.2, max_delay=2)
        client.on_socket_open = _set_nodelay
        client.on_connect = self._on_connect
        client.on_subscribe = lambda *args: self.subscribed.set()
        client.on_disconnect = lambda *args: self.subscribed.clear()
        client.on_message = self._on_message
        client.connect_async(self.host, self.port, keepalive=10)
        client.loop_start()
        self._client = client

    def stop(self, timeout: float = _STOP_WAIT_S) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        client.disconnect()
        # loop_stop() joins paho's thread without a limit, and that thread may be in its reconnect
        # back-off; it is a daemon and ends by itself.
        stopper = threading.Thread(target=client.loop_stop, name="data-bridge-stop", daemon=True)
        stopper.start()
        stopper.join(timeout)

    # -- paho's thread ---------------------------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT broker %s:%d refused the data bridge: %s", self.host, self.port, reason_code)
            return
        client.subscribe([(topic, 0) for topic in self.filters])

    def _on_message(self, client, userdata, message) -> None:
        self.receive(message.topic, message.payload)

    def receive(self, topic: str, payload: bytes) -> None:
        """Handle one MQTT message of the subscribed topics (called on paho's thread)."""
        where = self._parse_topic(topic)
        if where is None:
            return
        simulation_id, datapack = where
        if datapack is None:
            self._read_index(simulation_id, topic, payload)
        elif payload == _RESET:
            log.debug("datapack stream %s was reset", topic)
        else:
            self._read_datapack(simulation_id, datapack, topic, payload)

    def _parse_topic(self, topic: str) -> tuple[int, str | None] | None:
        rest = topic
        if self.prefix:
            if not topic.startswith(self.prefix + "/"):
                return None
            rest = topic[len(self.prefix) + 1:]
        levels = rest.split("/")
        if len(levels) not in (3, 4) or levels[0] != "nrp_simulation" or levels[2] != "data":
            return None
        if not levels[1].isdigit():
            log.debug("ignoring %s: the simulation id is not a number", topic)
            return None
        return int(levels[1]), (levels[3] if len(levels) == 4 else None)

    def _read_index(self, simulation_id: int, topic: str, payload: bytes) -> None:
        if not payload:
            # The engine cleared its index at shutdown: the simulation's streams are over.
            self._types = {key: value for key, value in self._types.items() if key[0] != simulation_id}
            self._origins.pop(simulation_id, None)
            return
        try:
            index = json.loads(payload)
            entries = [(entry["topic"].rpartition("/")[2], entry.get("type") or "") for entry in index]
        except (ValueError, TypeError, KeyError, AttributeError) as err:
            self._undecodable(topic, f"not a JSON list of {{topic, type}}: {err}")
            return
        for datapack, type_name in entries:
            self._types[(simulation_id, datapack)] = type_name

    def _read_datapack(self, simulation_id: int, datapack: str, topic: str, payload: bytes) -> None:
        for tap in self._taps:
            tap(simulation_id, datapack, self._types.get((simulation_id, datapack)), payload)
        try:
            decoded = decode(payload, self._types.get((simulation_id, datapack)))
        except UndecodablePayload as err:
            self._undecodable(topic, str(err))
            return
        now = time.monotonic()
        origin = self._origins.setdefault(simulation_id, now)
        sample = {"time": now - origin, "values": decoded.series}
        with self._lock:
            batch = self._pending.get((simulation_id, datapack))
            if batch is None:
                batch = self._pending[(simulation_id, datapack)] = _Batch(
                    decoded.type, collections.deque(maxlen=self._max_batch_samples))
            batch.type = decoded.type
            if decoded.image is not None:
                batch.image = decoded.image
            else:
                if len(batch.samples) == batch.samples.maxlen:
                    self.dropped += 1
                batch.samples.append(sample)
            request_flush = not self._flush_requested
            self._flush_requested = True
        if request_flush:
            try:
                self._loop.call_soon_threadsafe(self._schedule_flush)
            except RuntimeError:  # the server's loop is closed: the server is stopping
                pass

    def _undecodable(self, topic: str, reason: str) -> None:
        self.undecodable += 1
        first = topic not in self._warned_topics
        if first and len(self._warned_topics) < 10_000:
            self._warned_topics.add(topic)
        log.log(logging.WARNING if first else logging.DEBUG, "skipping a payload on %s: %s", topic, reason)

    # -- the server's event loop -----------------------------------------------------------------

    def _schedule_flush(self) -> None:
        delay = self._last_flush + self._flush_interval_s - time.monotonic()
        self._loop.call_later(max(0.0, delay), self.flush)

    def flush(self) -> None:
        """Send the pending batches to the listeners (on the event loop)."""
        with self._lock:
            pending, self._pending = self._pending, {}
            self._flush_requested = False
            self._last_flush = time.monotonic()
        for (simulation_id, datapack), batch in pending.items():
            payload: dict[str, Any] = {"datapack": datapack, "type": batch.type, "samples": list(batch.samples)}
            if batch.image is not None:
                payload["image"] = batch.image
            self._publisher.datapack(simulation_id, datapack, payload)


def _set_nodelay(client, userdata, sock) -> None:
    # As for the publisher (mqtt.py): without it small messages wait for Nagle's delayed ACK.
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as err:
        log.debug("cannot set TCP_NODELAY on the data bridge's socket: %s", err)
