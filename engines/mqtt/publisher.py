"""The server's MQTT publisher: paho-mqtt on its own network thread, never in the caller's way.

The Jupyter server must start, serve REST and keep its simulations running whether or not the
broker is up, so publishing never blocks and never raises because of the broker. What NRP's
frontends and simulation servers need after an outage is the retained view (the lifecycle message),
so the publisher keeps the last retained payload of each topic and publishes them again on every
(re)connect; plain messages sent while disconnected are stale by the time the broker is back and
are dropped and counted.
"""

import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

__all__ = ["DEFAULT_PORT", "MqttPublisher", "parse_broker"]

log = logging.getLogger(__name__)

DEFAULT_PORT = 1883
# Sent when a retained topic is cleared while disconnected: the broker may still hold the old
# retained message when it comes back, so the clear has to be replayed like any retained payload.
_CLEARED = b""
# Only reachable while paho believes it is connected but the broker stopped answering; a bound
# keeps that case from growing paho's queues without limit.
_MAX_QUEUED_MESSAGES = 1000
# The same bound for non-retained messages of any QoS: past it they are dropped and counted.
_MAX_UNSENT = 1000
# How long stop() waits for paho's thread when there is no connection to close.
_IDLE_STOP_WAIT = 0.1


def parse_broker(address: str) -> tuple[str, int]:
    """Split a broker address into ``(host, port)``.

    Accepts ``host:port``, ``host`` (port 1883), ``[v6addr]:port``, ``[v6addr]``, a bare IPv6
    address, and each of these after ``mqtt://``. Raises ValueError naming the address otherwise.
    """
    if not isinstance(address, str):
        raise ValueError(f"MQTT broker address must be a string, not {address!r}")
    rest = address.strip()
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme.lower() != "mqtt":
            raise ValueError(f"MQTT broker address {address!r}: only plain mqtt:// is supported")
        rest = rest.removesuffix("/")
    if not rest or any(char in rest for char in "/?#@ \t"):
        raise ValueError(f"MQTT broker address {address!r} is not host, host:port or [ipv6]:port")

    if rest.startswith("["):
        end = rest.find("]")
        if end < 0:
            raise ValueError(f"MQTT broker address {address!r} has '[' without ']'")
        host, port_text = rest[1:end], rest[end + 1 :]
        if port_text and not port_text.startswith(":"):
            raise ValueError(f"MQTT broker address {address!r} has text after ']' that is not ':port'")
        port_text = port_text[1:] if port_text else None
        _check_ipv6(host, address)
    elif rest.count(":") > 1:
        host, port_text = rest, None
        _check_ipv6(host, address)
    elif ":" in rest:
        host, port_text = rest.split(":")
    else:
        host, port_text = rest, None

    if not host:
        raise ValueError(f"MQTT broker address {address!r} has no host")
    if port_text is None:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"MQTT broker address {address!r} has an invalid port {port_text!r}")
    return host, int(port_text)


def _check_ipv6(host: str, address: str) -> None:
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        raise ValueError(f"MQTT broker address {address!r}: {host!r} is not an IPv6 address") from None


def _encode(payload: Any) -> bytes:
    if isinstance(payload, (bytes, bytearray)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    if isinstance(payload, (dict, list)):
        return json.dumps(payload).encode()
    raise TypeError(f"MQTT payload must be a dict, list, str or bytes, not {type(payload).__name__}")


class MqttPublisher:
    """Publishes to one broker, reconnecting by itself; safe to call from any thread.

    `on_connection_change(connected)` is called on paho's network thread on every connect and
    disconnect; it must not block.
    """

    def __init__(
        self,
        broker: str,
        client_id: str,
        *,
        connect_timeout: float = 5.0,
        keepalive: int = 10,
        on_connection_change: Callable[[bool], None] | None = None,
    ) -> None:
        self.host, self.port = parse_broker(broker)
        self.client_id = client_id
        self.connect_timeout = connect_timeout
        self.keepalive = keepalive
        self.on_connection_change = on_connection_change
        #: Non-retained messages not sent because the broker was unreachable.
        self.dropped = 0
        # Guards _retained, _connected and the publish calls: holding it while replaying the
        # retained payloads on connect keeps a concurrent publish from being overtaken by an
        # older payload of the same topic.
        self._lock = threading.Lock()
        self._retained: dict[str, tuple[bytes, int]] = {}
        # Messages handed to paho and not yet written to the socket. paho's own limit
        # (max_queued_messages) counts only QoS > 0, so a connected but slow broker would let
        # QoS 0 streams pile up without bound.
        self._unsent = 0
        # Guards _unsent alone. paho calls on_publish holding its own lock, and publish() takes that
        # lock while we hold _lock: on_publish taking _lock could deadlock the two threads.
        self._unsent_lock = threading.Lock()
        self._connected = False
        self._client: mqtt.Client | None = None
        self._stopped = False
        self._failures = 0
        self._network_thread: threading.Thread | None = None

    @property
    def broker(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._connected

    def start(self) -> None:
        """Start connecting in the background and return at once; a no-op if already started."""
        if self._client is not None:
            return
        if self._stopped:
            raise RuntimeError("an MqttPublisher cannot be started again after stop()")
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, clean_session=True)
        client.on_log = _forward_paho_log
        # An exception escaping a callback would end paho's network thread, and with it every
        # later reconnect; paho logs it instead.
        client.suppress_exceptions = True
        client.connect_timeout = self.connect_timeout
        client.reconnect_delay_set(min_delay=0.2, max_delay=2)
        client.max_queued_messages_set(_MAX_QUEUED_MESSAGES)
        client.on_socket_open = _set_nodelay
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.connect_async(self.host, self.port, keepalive=self.keepalive)
        self._client = client
        client.loop_start()
        log.info("MQTT publisher %s connecting to %s", self.client_id, self.broker)

    def stop(self, timeout: float = 2.0) -> None:
        """Disconnect and end the network thread, waiting at most about `timeout` seconds."""
        with self._lock:
            if self._stopped:
                return
            self._stopped = True
            client, self._client = self._client, None
            was_connected = self._connected
        if client is None:
            return
        client.disconnect()
        if threading.current_thread() is self._network_thread:
            # Called from a callback (on_connection_change): paho's own thread cannot join itself,
            # and loop_stop() then only asks it to end once the callback returns.
            client.loop_stop()
            self._mark_disconnected("stopped")
            return
        # loop_stop() joins paho's thread without a limit. Connected, that thread ends as soon as
        # it has sent DISCONNECT. Disconnected, it may be sleeping in its reconnect back-off (paho
        # checks for a stop only once a second) or inside a blocking connect() to an unreachable
        # host for up to connect_timeout; it then has nothing left to send and ends by itself
        # (it is a daemon), so the server's shutdown does not wait for it.
        stopper = threading.Thread(target=client.loop_stop, name="mqtt-publisher-stop", daemon=True)
        stopper.start()
        stopper.join(timeout if was_connected else min(timeout, _IDLE_STOP_WAIT))
        if stopper.is_alive():
            log.log(logging.WARNING if was_connected else logging.DEBUG,
                    "MQTT network thread of %s still running after stop(); it ends by itself",
                    self.client_id)
        self._mark_disconnected("stopped")

    def publish(self, topic: str, payload: Any, *, retain: bool = False, qos: int = 0) -> None:
        """Send `payload` (dict or list as JSON, str as UTF-8, or bytes) to `topic`.

        Never blocks on the network and never raises because the broker is unreachable. While
        disconnected a retained payload is kept for the next connect and anything else is dropped.
        """
        self._check_topic(topic)
        if qos not in (0, 1, 2):
            raise ValueError(f"MQTT QoS must be 0, 1 or 2, not {qos!r}")
        data = _encode(payload)
        if retain and not data:
            # An empty retained payload means "delete" to the broker; keep that meaning explicit.
            self.clear_retained(topic)
            return
        with self._lock:
            if retain and not self._stopped:
                self._retained[topic] = (data, qos)
            if not self._connected or self._client is None or (not retain and self._unsent >= _MAX_UNSENT):
                if not retain:
                    self.dropped += 1
                return
            self._send(topic, data, qos, retain)

    def clear_retained(self, topic: str) -> None:
        """Delete the broker's retained message on `topic` and forget it here."""
        self._check_topic(topic)
        with self._lock:
            if not self._connected or self._client is None:
                if not self._stopped:
                    self._retained[topic] = (_CLEARED, 0)
                return
            self._retained.pop(topic, None)
            self._send(topic, _CLEARED, 0, True)

    @staticmethod
    def _check_topic(topic: str) -> None:
        if not isinstance(topic, str) or not topic or any(char in topic for char in "+#\0"):
            raise ValueError(f"cannot publish to MQTT topic {topic!r}")

    def _send(self, topic: str, data: bytes, qos: int, retain: bool) -> None:
        """Hand one message to paho; the caller holds the lock. paho only queues it for its thread."""
        try:
            info = self._client.publish(topic, data, qos=qos, retain=retain)
        except (OSError, RuntimeError, ValueError) as err:
            log.warning("MQTT publish to %s failed: %s", topic, err)
            info = None
        if info is not None and info.rc == mqtt.MQTT_ERR_SUCCESS:
            with self._unsent_lock:
                self._unsent += 1
        else:
            if not retain:
                self.dropped += 1
            log.debug("MQTT publish to %s not sent (rc %s)", topic, info.rc if info else None)

    def _notify(self, connected: bool) -> None:
        if self.on_connection_change is None:
            return
        try:
            self.on_connection_change(connected)
        except Exception:
            log.exception("on_connection_change(%s) failed", connected)

    # paho callbacks, all on paho's network thread.

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._network_thread = threading.current_thread()
        if reason_code.is_failure:
            log.warning("MQTT broker %s refused %s: %s", self.broker, self.client_id, reason_code)
            return
        with self._lock:
            if self._stopped:
                return
            was_connected, self._connected = self._connected, True
            self._failures = 0
            # paho discards what the lost connection had not sent.
            with self._unsent_lock:
                self._unsent = 0
            for topic, (data, qos) in list(self._retained.items()):
                self._send(topic, data, qos, True)
                if data == _CLEARED:
                    del self._retained[topic]
            replayed = len(self._retained)
        log.info("MQTT publisher %s connected to %s; %d retained topics published again",
                 self.client_id, self.broker, replayed)
        if not was_connected:
            self._notify(True)

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._unsent_lock:
            self._unsent = max(0, self._unsent - 1)

    def _on_connect_fail(self, client, userdata) -> None:
        self._network_thread = threading.current_thread()
        self._failures += 1
        # The broker may stay down for a long time and paho retries every couple of seconds:
        # say it once, then keep quiet.
        level = logging.WARNING if self._failures == 1 else logging.DEBUG
        log.log(level, "MQTT broker %s unreachable; retrying in the background", self.broker)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._mark_disconnected(reason_code)

    def _mark_disconnected(self, reason: Any) -> None:
        with self._lock:
            was_connected, self._connected = self._connected, False
            stopped = self._stopped
        if not was_connected:
            return
        if not stopped:
            log.warning("MQTT publisher %s lost %s (%s); reconnecting", self.client_id, self.broker, reason)
        self._notify(False)


def _set_nodelay(client: mqtt.Client, userdata: Any, sock: Any) -> None:
    # paho never sets TCP_NODELAY. Without it, Nagle's algorithm on our side meets the broker's
    # delayed ACK, and against amqtt every QoS 1 publish waits ~44 ms for its PUBACK (~1 ms with it).
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError) as err:
        log.debug("cannot set TCP_NODELAY on the MQTT socket: %s", err)


_paho_log = logging.getLogger(f"{__name__}.paho")


def _forward_paho_log(client: mqtt.Client, userdata: Any, level: int, message: str) -> None:
    # paho reports every failed reconnect loop as an error ("Client is not connected"), which
    # would flood the server's log while the broker is down; connection state is logged above.
    # Only an exception in one of our callbacks deserves more than DEBUG.
    if message.startswith("Caught exception"):
        _paho_log.error("%s", message)
    else:
        _paho_log.debug("%s", message)
