"""Control latency of the server extension, from one run against a real `jupyter server` process
(embedded broker, real kernels, NRPCoreSim and engines):

  - launch: POST /simulation until it answers `paused`, beside a bare kernel start (jupyter_client,
    until the kernel answers) measured in the same run;
  - pause: PUT `paused` until the last step the engine runs, in steps and ms (the engine stamps
    each step's wall-clock time into a file);
  - stop: PUT `stopped` until it answers, from `started` and from `paused`.

Targets: pause ≤ 1 step + 50 ms, stop ≤ 1 s, launch ≤ bare kernel start + 1.5 s.

    .venv/bin/python benchmarks/control_latency.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

REPO = pathlib.Path(__file__).resolve().parent.parent
TOKEN = "control-latency"
STAMPING_ENGINE = '''
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._stamps = open("steps.txt", "a", buffering=1)
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": 0, "timestep": 0})

    def runLoop(self, timestep_ns):
        time.sleep(0.002)
        self._stamps.write(f"{time.time()}\\n")
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, work: pathlib.Path, *extra_args: str):
        self.port = free_port()
        self.work = work
        env = {key: value for key, value in os.environ.items() if not key.startswith("NRP_MQTT")}
        env.update(JUPYTER_CONFIG_DIR=str(work / "config"), JUPYTER_RUNTIME_DIR=str(work / "runtime"),
                   JUPYTER_DATA_DIR=str(work / "data"))
        with open(work / "server.log", "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
                 f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False", "--allow-root",
                 f"--ServerApp.root_dir={work / 'root'}", f"--NrpJupyterApp.embedded_broker_port={free_port()}",
                 f"--NrpJupyterApp.database_path={work / 'nrp.sqlite'}",
                 f"--NrpJupyterApp.simulations_dir={work / 'simulations'}", *extra_args],
                env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.call("GET", "version")
                return
            except (urllib.error.URLError, ConnectionError):
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit("the server did not start; see " + str(work / "server.log"))
                time.sleep(0.1)

    def call(self, method: str, *path: str, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/nrp/{'/'.join(path)}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read() or b"null")

    def state(self, simulation_id: int, wanted: str):
        return self.call("PUT", "simulation", str(simulation_id), "state", body={"state": wanted})

    def close(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def bare_kernel_start() -> float:
    from jupyter_client.manager import start_new_kernel

    started = time.perf_counter()
    manager, client = start_new_kernel(kernel_name="python3")
    elapsed = time.perf_counter() - started
    client.stop_channels()
    manager.shutdown_kernel(now=True)
    return elapsed


def simulation_dir(work: pathlib.Path, simulation_id: int) -> pathlib.Path:
    return next((work / "simulations").glob(f"nrp.{simulation_id}.*"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="nrp-control-latency-"))
    experiment = work / "root" / "experiments" / "stamping"
    shutil.copytree(REPO / "experiments" / "tf_exchange", experiment, ignore=shutil.ignore_patterns("__pycache__"))
    (experiment / "engine_1.py").write_text(STAMPING_ENGINE)
    config = json.loads((experiment / "simulation_config.json").read_text())
    config["SimulationTimeout"] = 3600
    (experiment / "simulation_config.json").write_text(json.dumps(config))
    step_s = config["EngineConfigs"][0]["EngineTimestep"]

    server = Server(work)
    try:
        kernels, launches, pause_steps, pause_ms, stops_started, stops_paused = [], [], [], [], [], []
        for round_ in range(options.repeat):
            kernels.append(bare_kernel_start())
            started = time.perf_counter()
            simulation = server.call("POST", "simulation", body={"experimentID": "stamping"})
            launches.append(time.perf_counter() - started)
            simulation_id = simulation["simulationID"]
            stamps = simulation_dir(work, simulation_id) / "steps.txt"
            server.state(simulation_id, "started")
            time.sleep(0.5)
            requested = time.time()
            server.state(simulation_id, "paused")
            time.sleep(0.5)
            after = [float(line) for line in stamps.read_text().split()]
            late = [stamp for stamp in after if stamp > requested]
            pause_steps.append(len(late))
            pause_ms.append(1000 * max(0.0, (late[-1] if late else requested) - requested))
            if round_ % 2:
                started = time.perf_counter()
                server.state(simulation_id, "stopped")
                stops_paused.append(time.perf_counter() - started)
            else:
                server.state(simulation_id, "started")
                time.sleep(0.3)
                started = time.perf_counter()
                server.state(simulation_id, "stopped")
                stops_started.append(time.perf_counter() - started)
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)

    kernel, launch = statistics.median(kernels), statistics.median(launches)
    print(f"launch (POST -> paused)     {launch:6.2f} s   bare kernel start {kernel:5.2f} s   "
          f"difference {launch - kernel:+5.2f} s (target <= +1.50 s)")
    print(f"pause (PUT -> last step)    {statistics.median(pause_steps):6.1f} steps (max {max(pause_steps)}), "
          f"{statistics.median(pause_ms):5.1f} ms (max {max(pause_ms):.1f})   "
          f"target <= 1 step + 50 ms (a step is {1000 * step_s:.0f} ms of simulation, ~3 ms of wall time here)")
    print(f"stop from started           {statistics.median(stops_started):6.3f} s (max {max(stops_started):.3f})   "
          f"target <= 1 s")
    if stops_paused:
        print(f"stop from paused            {statistics.median(stops_paused):6.3f} s (max {max(stops_paused):.3f})   "
              f"target <= 1 s")


if __name__ == "__main__":
    main()
