"""Scale on one machine, from one run against a real `jupyter server` process (mosquitto as its
broker when installed, else the embedded one; real kernels, NRPCoreSim and engines):

  1. sixteen simulations of tf_exchange launched at once (`max_simulations=16`), each on a thread
     with its own connection: launch time median/max, total wall time, beside one simulation
     alone measured first in the same run; every run must complete (simulation time 1.0 s and
     engine 2's last line in its own log), be stopped, and leave no kernel running;
  2. a hundred MQTT subscribers on one simulation walked through start, pause, resume, pause,
     resume, stop with no pause between: how long after each REST answer the last subscriber had
     the transition, and whether every subscriber saw every one in order;
  3. ten control panels (Python side) through the same walk: whether each history has every
     state, writes per panel, and how long after the stop every panel had ended.

The CI tests (tests/scale/) run 1 as sixteen runs queued through the default maximum of four,
which is what users of a sweep get, and 2 and 3 as here.

    .venv/bin/python benchmarks/scale.py [--simulations 16] [--subscribers 100] [--panels 10]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import pathlib
import shutil
import statistics
import sys
import tempfile
import threading
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from nrp_jupyter import Connection, Simulation, launch  # noqa: E402 (needs the repository on the path)
from tests.conftest import EXPERIMENTS  # noqa: E402
from tests.live_server import LiveServer, experiments_root  # noqa: E402
from tests.notebook.client import experiments  # noqa: E402
from tests.nrp_jupyter.mqtt_helpers import Mosquitto  # noqa: E402
from tests.scale.transitions import ACTIONS, EXPECTED_LIFECYCLE, EXPECTED_STATES, drive  # noqa: E402

LAST_STEP_LINE = "python_2 at 1000000000 ns received {'time': 990000000"
SUBSCRIBER_TOPICS = ("nrp_simulation/+/status", "nrp_simulation/+/lifecycle")


def run_one(server: LiveServer) -> dict:
    """Launch, start, run to completion, check, stop; the figures of one simulation."""
    with Connection(server.url, server.token) as connection:
        began = time.monotonic()
        simulation = launch("tf_exchange", connection=connection)
        launched = time.monotonic()
        simulation.start()
        simulation.wait_until("completed", 300)
        completed = time.monotonic()
        details = simulation.details()
        real = details["status"]["simulationTime"] == 1.0 and LAST_STEP_LINE in simulation.logs()
        simulation.stop()
        return {"id": simulation.id, "launch": launched - began, "run": completed - launched,
                "total": time.monotonic() - began, "real": real}


def sixteen_at_once(server: LiveServer, count: int) -> None:
    alone = run_one(server)
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(count) as pool:
        runs = list(pool.map(lambda _: run_one(server), range(count)))
    wall = time.monotonic() - began
    launches = [run["launch"] for run in runs]
    print(f"1. one simulation alone: launch {alone['launch']:.2f} s, "
          f"launch to completed {alone['run']:.2f} s, launch to stopped {alone['total']:.2f} s")
    print(f"   {count} at once: launch median {statistics.median(launches):.2f} s, max {max(launches):.2f} s "
          f"({statistics.median(launches) / alone['launch']:.1f}x alone); wall {wall:.2f} s for all "
          f"({wall / alone['total']:.1f}x one alone, "
          f"{wall / (count * alone['total']):.2f}x {count} in a row)")
    print(f"   completed with their own engine output: {sum(run['real'] for run in runs)}/{count}, "
          f"distinct ids {len({run['id'] for run in runs})}")
    kernels = server_kernels(server)
    active = [record for record in server.call("GET", "simulation")[1]
              if record["state"] not in ("stopped", "failed")]
    kills = [line for line in server.log_path.read_text().splitlines() if "did not stop by itself" in line]
    print(f"   left running: {len(kernels)} kernels, {len(active)} active simulations; "
          f"NRPCoreSim killed after the stop grace: {len(kills)}")
    for line in kills:
        print(f"     {line}")


def server_kernels(server: LiveServer) -> list:
    import urllib.request

    request = urllib.request.Request(f"{server.url}api/kernels",
                                     headers={"Authorization": f"token {server.token}"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def hundred_subscribers(server: LiveServer, broker: str, count: int) -> None:
    from tests.scale.test_mqtt_subscribers import close_all, seen_by, subscribe
    from tests.scale.transitions import state_changes

    began = time.monotonic()
    subscribers = subscribe(broker, count)
    subscribed = time.monotonic() - began
    try:
        with Connection(server.url, server.token) as connection:
            simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
            answered = []
            for action in ACTIONS:
                getattr(simulation, action)()
                answered.append(time.monotonic())
        lifecycle = f"nrp_simulation/{simulation.id}/lifecycle"
        for subscriber in subscribers:
            subscriber.wait_for(lifecycle, lambda message: message.payload
                                and message.json().get("target_state") == "stopped", timeout=30)
        lags = []
        for index, transition in enumerate(EXPECTED_LIFECYCLE[1:]):
            # Pause and resume repeat: the n-th such transition of the walk.
            nth = EXPECTED_LIFECYCLE[1:index + 1].count(transition)
            arrivals = [[message.at for message in subscriber.received(lifecycle)
                         if message.payload and lifecycle_pair(message) == transition][nth]
                        for subscriber in subscribers]
            lags.append(max(arrivals) - answered[index])
        complete = sum(1 for subscriber in subscribers
                       if (lambda seen: state_changes(seen[0]) == EXPECTED_STATES
                           and seen[1] == EXPECTED_LIFECYCLE)(seen_by(subscriber, simulation.id)))
        delivered = sum(len(subscriber.received()) for subscriber in subscribers)
        print(f"2. {count} MQTT subscribers ({broker}): subscribed in {subscribed:.2f} s; "
              f"every transition in order at {complete}/{count}; {delivered} messages delivered")
        print("   last subscriber's lag after each REST answer: "
              + ", ".join(f"{action} {lag * 1e3:.0f} ms" for action, lag in zip(ACTIONS, lags, strict=True)))
    finally:
        close_all(subscribers)


def lifecycle_pair(message) -> tuple[str, str]:
    payload = message.json()
    return payload["source_state"], payload["target_state"]


def ten_panels(server: LiveServer, count: int) -> None:
    import comm

    from nrp_jupyter import ControlPanel

    connections = [Connection(server.url, server.token) for _ in range(count + 1)]
    panels = []
    original = comm.create_comm
    comm.create_comm = comm.DummyComm  # no front end: the traits are read in Python
    try:
        simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=connections[0])
        for connection in connections[1:]:
            panels.append(ControlPanel(Simulation(connection, simulation.id)))
        wait(lambda: all(panel.connected and panel.state == "paused" for panel in panels), 30)
        took = drive(simulation)
        stopped = time.monotonic()
        wait(lambda: not any(panel.updater.alive for panel in panels), 30)
        ended = time.monotonic() - stopped
        complete = sum(1 for panel in panels if panel.history == EXPECTED_STATES)
        writes = statistics.median(panel.updater.writes for panel in panels)
        print(f"3. {count} panels: walk of {len(ACTIONS)} requests in {sum(took) * 1e3:.0f} ms; "
              f"full history at {complete}/{count}; writes per panel median {writes}; "
              f"every panel ended {ended * 1e3:.0f} ms after the stop answered")
    finally:
        for panel in panels:
            panel.close()
        for connection in connections:
            connection.close()
        comm.create_comm = original


def wait(condition, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark's condition did not hold in time")
        time.sleep(0.02)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--simulations", type=int, default=16)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--panels", type=int, default=10)
    parser.add_argument("--stop-grace", type=float, default=None,
                        help="the server's stop_grace in seconds (its default, 1, when not given)")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="nrp-scale-"))
    broker = None
    executable = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if pathlib.Path(executable).exists():
        broker = Mosquitto(executable, work / "mosquitto.log")
        broker.start()
    root = experiments_root(work / "root", EXPERIMENTS, ["tf_exchange"])
    experiments.add_runs_until_stopped(root)
    extra = [f"--NrpJupyterApp.max_simulations={args.simulations}"]
    if args.stop_grace is not None:
        extra.append(f"--NrpJupyterApp.stop_grace={args.stop_grace}")
    if broker is not None:
        extra.append(f"--NrpJupyterApp.mqtt_broker={broker.address}")
    server = LiveServer(root, work, tuple(extra)).start()
    threading.current_thread().name = "scale-benchmark"
    try:
        sixteen_at_once(server, args.simulations)
        hundred_subscribers(server, broker.address if broker else f"127.0.0.1:{server.broker_port}",
                            args.subscribers)
        ten_panels(server, args.panels)
    finally:
        server.stop_all_simulations()
        server.stop()
        if broker is not None:
            broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
