"""What streaming datapacks through the datatransfer engine costs the loop, from one run.

Measures, in this run, steps/s of the NrpCore client's run_loop(steps) after a warm-up on:
  - experiments/tf_exchange (two python_json engines), the baseline;
  - experiments/tf_exchange_datatransfer: the same plus a datatransfer engine that gets three
    datapacks per step from a TF (two streamed to a mosquitto on loopback, two dumped to files);
  - the same with the broker absent (the engine drops the streamed datapacks);
and prints each rate with its ratio to the baseline, plus how many datapacks a subscriber received.

    .venv/bin/python benchmarks/datatransfer.py [--steps 1000]
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

from _core import free_port, steps_per_s

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPERIMENTS = REPO / "experiments"
DATATRANSFER_ENGINE_INDEX = 2  # in tf_exchange_datatransfer's EngineConfigs


class Mosquitto:
    def __init__(self, port: int):
        executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.process = subprocess.Popen([executable, "-p", str(port)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("mosquitto did not start") from None
                time.sleep(0.02)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(5)


class Counter:
    """Counts the datapacks arriving on the data topics."""

    def __init__(self, port: int):
        self.count = 0
        subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{port}")
        self.client.on_connect = lambda client, *args: client.subscribe("nrp_simulation/+/data/+")
        self.client.on_subscribe = lambda *args: subscribed.set()
        self.client.on_message = self._count
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not subscribed.wait(5):
            raise RuntimeError("the counting subscriber did not subscribe")

    def _count(self, *args) -> None:
        self.count += 1

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def rate(experiment: pathlib.Path, steps: int, args: str = "") -> float:
    # The example engines print every step; their output goes to a log file in the copy.
    return steps_per_s(experiment, "simulation_config.json", steps, experiment / "core.log", args=args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    steps = parser.parse_args().steps
    with tempfile.TemporaryDirectory() as scratch:
        copies = {}
        for name in ("tf_exchange", "tf_exchange_datatransfer"):
            copies[name] = pathlib.Path(scratch) / name
            shutil.copytree(EXPERIMENTS / name, copies[name], ignore=shutil.ignore_patterns("__pycache__", "data"))
        # SimulationTimeout bounds run_until_timeout only; run_loop is not limited by it.
        port = free_port()
        broker_override = f'-o EngineConfigs.{DATATRANSFER_ENGINE_INDEX}.MQTTBroker="127.0.0.1:{port}"'

        baseline = rate(copies["tf_exchange"], steps)
        broker = Mosquitto(port)
        counter = Counter(port)
        try:
            streaming = rate(copies["tf_exchange_datatransfer"], steps, broker_override)
            time.sleep(0.5)  # the last datapacks are still on their way to the subscriber
            received = counter.count
        finally:
            counter.close()
            broker.stop()
        absent = rate(copies["tf_exchange_datatransfer"], steps, broker_override)

    print(f"{'run':52} {'steps/s':>8} {'ratio':>6}")
    print(f"{'tf_exchange (baseline)':52} {baseline:8.0f} {1.0:6.2f}")
    print(f"{'tf_exchange_datatransfer, streaming to mosquitto':52} {streaming:8.0f} {streaming / baseline:6.2f}")
    print(f"{'tf_exchange_datatransfer, broker absent':52} {absent:8.0f} {absent / baseline:6.2f}")
    print(f"\n{received} datapacks reached a subscriber for {steps + 100} steps x 2 streamed datapacks "
          f"(warm-up included); each step also appends two lines to data files.")


if __name__ == "__main__":
    sys.exit(main())
