"""How soon the server extension reacts, from one run against a real `jupyter server` process
(embedded broker, real kernels, NRPCoreSim and engines; tf_exchange running for long):

  - the periodic status: seconds between two `started` statuses on MQTT (the kernel's
    KERNEL_NRP_STATUS_INTERVAL, 1 s);
  - a stop while an engine hangs in its initialize: PUT `stopped` until it answers;
  - a process SIGKILLed under a started simulation (the kernel, NRPCoreSim, an engine): seconds
    from the kill to the `failed` status on MQTT.

Targets (docs/faults.md): a status every 1 ± 0.3 s, that stop ≤ 1 s, `failed` ≤ 2 s after a kill.

    .venv/bin/python benchmarks/server_timings.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import itertools
import json
import pathlib
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time

import psutil

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.live_server import LiveServer, experiments_root  # noqa: E402 (needs the repository on the path)
from tests.nrp_jupyter.mqtt_helpers import Subscriber  # noqa: E402
from tests.waiting import eventually  # noqa: E402

LONG = "long_exchange"
HUNG = "hung_in_initialize"
HUNG_ENGINE = """
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        time.sleep(3600)

    def runLoop(self, timestep_ns):
        pass
"""
ROLES = {"kernel": "ipykernel", "NRPCoreSim": "NRPCoreSim", "engine": "nrp-python-json-engine"}


def prepare(root: pathlib.Path) -> pathlib.Path:
    """tf_exchange as two experiments: one that runs for an hour, one whose engine hangs in initialize."""
    experiments_root(root, REPO / "experiments", names=("tf_exchange",))
    experiments = root / "experiments"
    shutil.copytree(experiments / "tf_exchange", experiments / LONG)
    config_path = experiments / LONG / "simulation_config.json"
    config = json.loads(config_path.read_text())
    config["SimulationTimeout"] = 3600
    config_path.write_text(json.dumps(config))
    shutil.copytree(experiments / "tf_exchange", experiments / HUNG)
    (experiments / HUNG / "engine_1.py").write_text(HUNG_ENGINE)
    return root


def process_of(server: LiveServer, role: str) -> list[psutil.Process]:
    found = []
    for process in psutil.Process(server.process.pid).children(recursive=True):
        try:
            command = " ".join(process.cmdline())
        except psutil.NoSuchProcess:
            continue
        if ROLES[role] in command and (role != "engine" or "NRPCoreSim" not in command):
            found.append(process)
    return found


def launch_and_start(server: LiveServer) -> str:
    code, body = server.call("POST", "simulation", body={"experimentID": LONG})
    if code != 201:
        raise SystemExit(f"launch failed ({code}): {body}; see {server.log_path}")
    simulation_id = str(body["simulationID"])
    server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})
    return simulation_id


def status_intervals(server: LiveServer, subscriber: Subscriber) -> list[float]:
    simulation_id = launch_and_start(server)
    topic = f"nrp_simulation/{simulation_id}/status"

    def started() -> list[float]:
        return [m.at for m in subscriber.received(topic) if m.json().get("state") == "started"]

    # The transition's own status comes first; the periodic ones after it.
    arrivals = eventually(lambda: started()[1:6] if len(started()) >= 6 else None, 15, "five periodic statuses")
    server.call("PUT", "simulation", simulation_id, "state", body={"state": "stopped"})
    return [later - earlier for earlier, later in itertools.pairwise(arrivals)]


def stop_during_hung_initialize(server: LiveServer) -> float:
    launch = threading.Thread(target=server.call, args=("POST", "simulation"), kwargs={"body": {"experimentID": HUNG}})
    launch.start()
    eventually(lambda: len(process_of(server, "engine")) == 2, 60, "NRPCoreSim did not start both engines")
    _, records = server.call("GET", "simulation")
    simulation_id = str(max(record["simulationID"] for record in records))
    began = time.perf_counter()
    server.call("PUT", "simulation", simulation_id, "state", body={"state": "stopped"})
    took = time.perf_counter() - began
    launch.join(60)
    return took


def failure_after_kill(server: LiveServer, subscriber: Subscriber, role: str) -> float:
    simulation_id = launch_and_start(server)
    topic = f"nrp_simulation/{simulation_id}/status"
    subscriber.wait_for(topic, lambda m: m.json().get("simulationTime", 0) > 0, timeout=10)
    [victim, *_] = process_of(server, role)
    killed_at = time.monotonic()
    victim.send_signal(signal.SIGKILL)
    failed = subscriber.wait_for(topic, lambda m: m.json().get("state") == "failed", timeout=30)
    return failed.at - killed_at


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="nrp-server-timings-"))
    server = LiveServer(prepare(work / "root"), work).start()
    times: dict[str, list[float]] = {"periodic status interval": [], "stop during a hung initialize": [],
                                     **{f"failed status after a SIGKILL of the {role}": [] for role in ROLES}}
    try:
        with Subscriber(f"127.0.0.1:{server.broker_port}", ["nrp_simulation/#"]) as subscriber:
            subscriber.wait_subscribed()
            for _ in range(options.repeat):
                times["periodic status interval"] += status_intervals(server, subscriber)
                times["stop during a hung initialize"].append(stop_during_hung_initialize(server))
                for role in ROLES:
                    times[f"failed status after a SIGKILL of the {role}"].append(
                        failure_after_kill(server, subscriber, role))
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(name) for name in times)
    for name, values in times.items():
        print(f"{name:{width}}  median {statistics.median(values):6.3f} s  "
              f"min {min(values):6.3f} s  max {max(values):6.3f} s  (n={len(values)})")


if __name__ == "__main__":
    main()
