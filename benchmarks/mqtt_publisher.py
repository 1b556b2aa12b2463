"""How long the MQTT side's calls take, the ones the server makes on its event loop and must not
block it, from one run against the embedded amqtt broker on loopback:

  - the embedded broker's start-up, and its stop with a connected publisher and subscriber;
  - MqttPublisher.start() with the broker down, and each publish() while it is down;
  - each publish() of a 50 Hz status ticker while the broker is killed and started again, and how
    long after the restart publishing resumed;
  - stop() of a publisher that is waiting to reconnect, and of a connected one.

Targets: start and publish ≤ 50 ms (a publish ≪ 1 ms), stop ≤ 0.5 s disconnected and ≤ 1 s
connected, resumption ≤ 5 s (paho's reconnect back-off is at most 2 s), broker stop ≤ 4 s.

    .venv/bin/python benchmarks/mqtt_publisher.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import functools
import logging
import pathlib
import statistics
import sys
import threading
import time
from collections.abc import Callable

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engines.mqtt.publisher import MqttPublisher  # noqa: E402 (needs the repository on the path)
from tests.nrp_jupyter.mqtt_helpers import Amqtt, BackgroundLoop, Subscriber  # noqa: E402
from tests.waiting import eventually  # noqa: E402

TOPIC = "bench/status"


def timed(call: Callable[[], object]) -> float:
    began = time.perf_counter()
    call()
    return time.perf_counter() - began


def connected_publisher(address: str) -> MqttPublisher:
    publisher = MqttPublisher(address, "bench-publisher")
    publisher.start()
    eventually(lambda: publisher.connected, 5, "the publisher did not connect")
    return publisher


def one_round(loop: BackgroundLoop) -> dict[str, float]:
    broker = Amqtt(loop)
    times: dict[str, float] = {}

    publisher = MqttPublisher(broker.address, "bench-down")
    times["start, broker down"] = timed(publisher.start)
    times["publish, broker down (max of 200)"] = max(
        timed(functools.partial(publisher.publish, TOPIC, {"tick": tick}, qos=tick % 2)) for tick in range(200))
    eventually(lambda: publisher._failures > 0, 5, "no connect attempt failed")  # in its back-off now
    times["stop, reconnecting"] = timed(publisher.stop)

    times["broker start-up"] = timed(broker.start)
    publisher = connected_publisher(broker.address)
    ticks: list[float] = []
    resumed_after = restart_ticker(broker, publisher, ticks)
    times["publish around a broker restart (max)"] = max(ticks)
    times["publishing resumed after the restart"] = resumed_after
    times["stop, connected"] = timed(publisher.stop)

    publisher = connected_publisher(broker.address)
    with Subscriber(broker.address, ["#"]) as subscriber:
        subscriber.wait_subscribed()
        times["broker stop, with clients"] = timed(broker.stop)
    publisher.stop()
    return times


def restart_ticker(broker: Amqtt, publisher: MqttPublisher, ticks: list[float]) -> float:
    """Publishes every 20 ms, timing each publish, while the broker is stopped for half a second and
    started again; returns the seconds from the restart to the first status that arrived after it."""
    stop_ticking = threading.Event()

    def tick() -> None:
        while not stop_ticking.is_set():
            began = time.perf_counter()
            publisher.publish(TOPIC, {"at": time.monotonic()})
            ticks.append(time.perf_counter() - began)
            stop_ticking.wait(0.02)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        # The subscriber reconnects by itself, as the publisher does.
        with Subscriber(broker.address, [TOPIC]) as subscriber:
            subscriber.wait_for(TOPIC)
            broker.kill()
            eventually(lambda: not publisher.connected, 5, "the publisher did not notice the broker go")
            time.sleep(0.5)  # an outage, during which ticks are dropped
            broker.start()
            restarted = time.monotonic()
            resumed = subscriber.wait_for(TOPIC, lambda m: m.json()["at"] > restarted, timeout=30)
        return resumed.at - restarted
    finally:
        stop_ticking.set()
        ticker.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    # The outages are on purpose: the publisher's warnings about them would only clutter the table.
    logging.getLogger("engines.mqtt").setLevel(logging.ERROR)
    loop = BackgroundLoop()
    rounds = []
    try:
        for _ in range(options.repeat):
            rounds.append(one_round(loop))
    finally:
        loop.close()
    width = max(len(name) for name in rounds[0])
    for name in rounds[0]:
        values = [times[name] for times in rounds]
        print(f"{name:{width}}  median {statistics.median(values) * 1e3:9.2f} ms  max {max(values) * 1e3:9.2f} ms")


if __name__ == "__main__":
    main()
