"""MQTT round trips on loopback: seconds from a publish to its delivery back to the same client,
one message in flight at a time, for QoS 0 and 1 with and without TCP_NODELAY, on the embedded
amqtt broker and on mosquitto (when installed). With paho's default socket, amqtt answers each
QoS 1 publish after ~44 ms of Nagle and delayed ACK; with TCP_NODELAY, in about a millisecond
(the TCP_NODELAY pitfall, spec/dependencies.md §2).

    .venv/bin/python benchmarks/mqtt_round_trips.py
"""

from __future__ import annotations

import os
import pathlib
import shutil
import statistics
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engines.mqtt.publisher import parse_broker  # noqa: E402 (needs the repository on the path)
from nrp_jupyter.server.broker import EmbeddedBroker  # noqa: E402
from tests.nrp_jupyter.mqtt_helpers import HOST, BackgroundLoop, Mosquitto, set_nodelay  # noqa: E402


def measure_round_trips(
    address: str, *, qos: int, nodelay: bool, count: int = 200, warmup: int = 20
) -> list[float]:
    """Seconds from publish to delivery back to the same client, one message in flight at a time
    (the setup of the dependency check, spec/dependencies.md §2)."""
    host, port = parse_broker(address)
    topic = f"bench/rt/{os.urandom(4).hex()}"
    arrived = threading.Event()
    subscribed = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{os.urandom(4).hex()}")
    if nodelay:
        client.on_socket_open = set_nodelay
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = lambda *args: arrived.set()
    client.connect(host, port)
    client.loop_start()
    try:
        client.subscribe(topic, qos)
        if not subscribed.wait(5):
            raise AssertionError("no SUBACK")
        times = []
        for index in range(warmup + count):
            arrived.clear()
            started = time.perf_counter()
            client.publish(topic, b"0123456789abcdef", qos=qos)
            if not arrived.wait(5):
                raise AssertionError(f"message {index} did not come back")
            times.append(time.perf_counter() - started)
        return times[warmup:]
    finally:
        client.disconnect()
        client.loop_stop()


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered) * 1e6:8.0f} µs  p99 {p99 * 1e6:8.0f} µs"


def main() -> None:
    loop = BackgroundLoop()
    embedded = EmbeddedBroker(HOST, 0)
    amqtt_address = loop.run(embedded.start())
    brokers = {"amqtt (embedded)": amqtt_address}
    mosquitto = None
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if os.access(executable, os.X_OK):
        mosquitto = Mosquitto(executable, pathlib.Path(tempfile.mkdtemp()) / "mosquitto.log")
        mosquitto.start()
        brokers["mosquitto"] = mosquitto.address
    try:
        for name, address in brokers.items():
            for qos in (0, 1):
                for nodelay in (False, True):
                    count = 50 if (qos and not nodelay and "amqtt" in name) else 500
                    times = measure_round_trips(address, qos=qos, nodelay=nodelay, count=count)
                    print(f"{name:17} QoS {qos} nodelay={nodelay!s:5}  n={count:4}  {summary(times)}")
    finally:
        if mosquitto is not None:
            mosquitto.stop()
        loop.run(embedded.stop())
        loop.close()


if __name__ == "__main__":
    main()
