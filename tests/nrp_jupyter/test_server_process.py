"""The extension in a real `jupyter server` process: the embedded broker, and records that survive
a restart (a crash included), with nothing of a crashed server left running."""

import json
import signal
import time

import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder, core_processes
from tests.live_server import LiveServer
from tests.nrp_jupyter.mqtt_helpers import Subscriber

pytestmark = [pytest.mark.timeout(120), pytest.mark.usefixtures("no_leftover_processes")]


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "root"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", root / "experiments" / "tf_exchange")
    config = json.loads((root / "experiments/tf_exchange/simulation_config.json").read_text())
    config["SimulationTimeout"] = 1000
    (root / "experiments/tf_exchange/simulation_config.json").write_text(json.dumps(config))
    server = LiveServer(root, tmp_path)
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
