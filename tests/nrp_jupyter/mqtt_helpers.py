"""Real MQTT brokers and a collecting subscriber for the MQTT tests and benchmarks/mqtt_*.py.

The fixtures built on them are in tests/nrp_jupyter/conftest.py (`mosquitto`, which the
datatransfer engine tests use too, in tests/conftest.py).
"""

import asyncio
import dataclasses
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from nrp_jupyter.server.broker import EmbeddedBroker
from engines.mqtt.publisher import parse_broker
from tests.ports import free_port
from tests.waiting import eventually

HOST = "127.0.0.1"


def accepts_tcp(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False


def set_nodelay(client: mqtt.Client, userdata: Any, sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def mosquitto_executable() -> str:
    """mosquitto's path; skips the test when it is missing, but fails it under CI."""
    path = shutil.which("mosquitto") or ("/usr/sbin/mosquitto" if os.access("/usr/sbin/mosquitto", os.X_OK) else None)
    if path is None:
        reason = "mosquitto is not installed (scripts/bootstrap installs the Debian package)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    return path


class Mosquitto:
    """A mosquitto process on a fixed loopback port that can be killed and started again there."""

    kind = "mosquitto"

    def __init__(self, executable: str, log_path: pathlib.Path, port: int | None = None) -> None:
        self.executable = executable
        self.log_path = log_path
        self.host = HOST
        self.port = port or free_port()
        self._process: subprocess.Popen | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout: float = 5.0) -> None:
        if self._process is not None:
            raise RuntimeError("mosquitto is already running")
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                [self.executable, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            eventually(self._accepts, timeout, f"mosquitto on port {self.port}", every_s=0.01)
        except AssertionError:
            self.stop()
            raise RuntimeError(f"mosquitto did not start on port {self.port}:\n{self.log_path.read_text()}") from None

    def _accepts(self) -> bool:
        assert self._process.poll() is None, "mosquitto exited"
        return accepts_tcp(self.host, self.port)

    def kill(self) -> None:
        """Simulate a crash: SIGKILL, so clients see their connection break without a goodbye."""
        self._end(signal.SIGKILL)

    def stop(self) -> None:
        self._end(signal.SIGTERM)

    def restart(self) -> None:
        self.kill()
        self.start()

    def freeze(self) -> None:
        """SIGSTOP: connections stay open but nothing is read, as with a broker that hangs."""
        self._process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self._process.send_signal(signal.SIGCONT)

    def _end(self, how: signal.Signals) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen broker would not act on SIGTERM
        process.send_signal(how)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


class BackgroundLoop:
    """An asyncio loop on a thread of its own, so sync tests can host the embedded broker."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-asyncio-loop", daemon=True)
        self._thread.start()

    def run(self, coroutine: Any, timeout: float = 10.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        async def cancel_the_rest() -> None:
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        self.run(cancel_the_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


class Amqtt:
    """The embedded broker on a background loop, with the same controls as `Mosquitto`."""

    kind = "amqtt"

    def __init__(self, loop: BackgroundLoop, port: int | None = None) -> None:
        self.loop = loop
        self.host = HOST
        self.port = port or free_port()
        self._broker: EmbeddedBroker | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self) -> None:
        broker = EmbeddedBroker(self.host, self.port)
        address = self.loop.run(broker.start())
        self._broker = broker
        if address != self.address:
            raise RuntimeError(f"embedded broker took {address}, not {self.address}")

    def kill(self) -> None:
        self.stop()

    def stop(self) -> None:
        broker, self._broker = self._broker, None
        if broker is not None:
            self.loop.run(broker.stop())

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclasses.dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    retain: bool
    at: float

    def json(self) -> Any:
        return json.loads(self.payload)


class Subscriber:
    """A paho subscriber (TCP_NODELAY) that collects every message; it reconnects and re-subscribes
    by itself, so it survives broker restarts."""

    def __init__(self, address: str, topics: list[str] | tuple[str, ...] = ("#",)) -> None:
        host, port = parse_broker(address)
        self.topics = list(topics)
        self._received: list[Received] = []
        self._condition = threading.Condition()
        self._subscribed = threading.Event()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"test-sub-{os.urandom(4).hex()}")
        self._client.on_socket_open = set_nodelay
        self._client.reconnect_delay_set(min_delay=0.05, max_delay=0.5)
        self._client.on_connect = self._on_connect
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message
        self._client.connect(host, port)
        self._client.loop_start()

    def __enter__(self) -> "Subscriber":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def wait_subscribed(self, timeout: float = 5.0) -> "Subscriber":
        if not self._subscribed.wait(timeout):
            raise AssertionError(f"no SUBACK for {self.topics} within {timeout} s")
        return self

    def clear(self) -> None:
        with self._condition:
            self._received.clear()

    def received(self, topic: str | None = None) -> list[Received]:
        with self._condition:
            return [m for m in self._received if topic is None or m.topic == topic]

    def wait_for(
        self, topic: str, predicate: Callable[[Received], bool] | None = None, timeout: float = 5.0
    ) -> Received:
        """The first message on `topic` (since the last `clear()`) that satisfies `predicate`."""

        def find() -> Received | None:
            for message in self._received:
                if message.topic == topic and (predicate is None or predicate(message)):
                    return message
            return None

        with self._condition:
            found = self._condition.wait_for(find, timeout)
            if found is None:
                seen = [(m.topic, m.payload[:80]) for m in self._received]
                raise AssertionError(f"no matching message on {topic!r} within {timeout} s; got {seen}")
            return found

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        self._subscribed.clear()
        client.subscribe([(topic, 1) for topic in self.topics])

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._subscribed.set()

    def _on_message(self, client, userdata, message) -> None:
        with self._condition:
            self._received.append(Received(message.topic, message.payload, bool(message.retain), time.monotonic()))
            self._condition.notify_all()


def late_subscriber_sees(address: str, topic: str, marker_topic: str, timeout: float = 5.0) -> Received | None:
    """What a subscriber that connects now gets as the retained message of `topic`, or None.

    `marker_topic` must hold a retained message; once it arrives, the broker has sent the retained
    messages of the same SUBSCRIBE, and a short grace covers brokers that send them out of order.
    """
    with Subscriber(address, [topic, marker_topic]) as late:
        late.wait_for(marker_topic, timeout=timeout)
        # A grace, not an event: `topic` may hold no retained message, and nothing says none is coming.
        time.sleep(0.2)
        retained = [m for m in late.received(topic) if m.retain]
        return retained[-1] if retained else None


def wait_retained(
    address: str, topic: str, marker_topic: str, predicate: Callable[[Received], bool] | None = None,
    timeout: float = 5.0,
) -> Received:
    """The retained message of `topic` as new subscribers see it, once it satisfies `predicate`.

    Polls with fresh subscribers: a publish is asynchronous, so the broker may store it only after
    a subscriber that connected just afterwards has already subscribed.
    """
    last: list[Received | None] = [None]

    def matching() -> Received | None:
        seen = last[0] = late_subscriber_sees(address, topic, marker_topic)
        return seen if seen is not None and (predicate is None or predicate(seen)) else None

    return eventually(matching, timeout, lambda: f"no matching retained message on {topic!r}; last {last[0]}")
