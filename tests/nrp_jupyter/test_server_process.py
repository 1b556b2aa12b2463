"""The extension in a real `jupyter server` process: the embedded broker, and records that survive
a restart (a crash included), with nothing of a crashed server left running."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.conftest import EXPERIMENTS, core_processes
from tests.nrp_jupyter.mqtt_helpers import Subscriber, free_port

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("no_leftover_processes")]
TOKEN = "nrp-test-token"


class Server:
    def __init__(self, root, tmp_path):
        self.root = root
        self.port = free_port()
        self.broker_port = free_port()
        self.tmp_path = tmp_path
        self.process = None

    def start(self):
        env = {key: value for key, value in os.environ.items() if not key.startswith("NRP_MQTT")}
        env.update(JUPYTER_CONFIG_DIR=str(self.tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(self.tmp_path / "runtime"),
                   JUPYTER_DATA_DIR=str(self.tmp_path / "data"))
        with open(self.tmp_path / "server.log", "a") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jupyter_server", f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
                 f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False", "--allow-root",
                 f"--ServerApp.root_dir={self.root}", f"--NrpJupyterApp.embedded_broker_port={self.broker_port}",
                 f"--NrpJupyterApp.database_path={self.tmp_path / 'nrp.sqlite'}"],
                env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while True:
            try:
                self.call("GET", "version")
                return
            except (urllib.error.URLError, ConnectionError):
                assert self.process.poll() is None, (self.tmp_path / "server.log").read_text()[-3000:]
                assert time.monotonic() < deadline
                time.sleep(0.1)

    def call(self, method, *path, body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/nrp/{'/'.join(path)}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_state(self, simulation_id, wanted, timeout=20):
        deadline = time.monotonic() + timeout
        while (state := self.call("GET", "simulation", str(simulation_id), "state")[1]["state"]) != wanted:
            assert time.monotonic() < deadline, state
            time.sleep(0.05)

    def stop(self, how=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(how)
            self.process.wait(timeout=30)


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "root"
    shutil.copytree(EXPERIMENTS / "tf_exchange", root / "experiments" / "tf_exchange")
    config = json.loads((root / "experiments/tf_exchange/simulation_config.json").read_text())
    config["SimulationTimeout"] = 1000
    (root / "experiments/tf_exchange/simulation_config.json").write_text(json.dumps(config))
    server = Server(root, tmp_path)
    yield server
    server.stop(signal.SIGKILL)


def test_the_embedded_broker_carries_status_at_about_1_hz(server):
    server.start()
    with Subscriber(f"127.0.0.1:{server.broker_port}", ["nrp_simulation/#"]) as subscriber:
        subscriber.wait_subscribed()
        code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
        assert (code, body["state"]) == (201, "paused")
        assert server.call("PUT", "simulation", "0", "state", body={"state": "started"})[0] == 200
        time.sleep(3.5)
        statuses = [m for m in subscriber.received("nrp_simulation/0/status") if "state" in m.json()]
        started = [m for m in statuses if m.json()["state"] == "started"]
        assert len(started) >= 3
        # Transitions add a status of their own; the periodic ones follow them a second apart.
        periodic = started[-3:]
        intervals = [b.at - a.at for a, b in zip(periodic, periodic[1:])]
        assert all(0.7 < interval < 1.3 for interval in intervals), intervals
        assert server.call("PUT", "simulation", "0", "state", body={"state": "stopped"})[0] == 200


def test_records_survive_a_restart_and_a_crash_fails_what_was_running(server, no_leftover_processes):
    server.start()
    assert server.call("POST", "simulation", body={"experimentID": "tf_exchange"})[0] == 201
    assert server.call("PUT", "simulation", "0", "state", body={"state": "stopped"})[0] == 200
    assert server.call("POST", "simulation", body={"experimentID": "tf_exchange"})[0] == 201
    assert server.call("PUT", "simulation", "1", "state", body={"state": "started"})[0] == 200
    assert core_processes(no_leftover_processes)

    server.stop(signal.SIGKILL)
    deadline = time.monotonic() + 5
    while core_processes(no_leftover_processes):
        assert time.monotonic() < deadline, "the crashed server's simulation kept running"
        time.sleep(0.1)
    server.start()

    code, records = server.call("GET", "simulation")
    assert code == 200
    assert [(r["simulationID"], r["state"]) for r in records] == [(0, "stopped"), (1, "failed")]
    code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert (code, body["simulationID"]) == (201, 2)

    server.stop(signal.SIGTERM)  # a clean shutdown stops what runs
    server.start()
    assert server.call("GET", "simulation", "2", "state")[1] == {"state": "stopped"}
