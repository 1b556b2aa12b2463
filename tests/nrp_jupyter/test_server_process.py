"""The extension in a real `jupyter server` process: the embedded broker, and records that survive
a restart (a crash included), with nothing of a crashed server left running."""

import json
import signal

import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder, core_processes
from tests.live_server import LiveServer
from tests.nrp_jupyter.mqtt_helpers import Subscriber
from tests.waiting import eventually

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


def test_the_embedded_broker_carries_the_periodic_status(server):
    server.start()
    with Subscriber(f"127.0.0.1:{server.broker_port}", ["nrp_simulation/#"]) as subscriber:
        subscriber.wait_subscribed()
        code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
        assert (code, body["state"]) == (201, "paused")
        assert server.call("PUT", "simulation", "0", "state", body={"state": "started"})[0] == 200

        def started():
            statuses = [m.json() for m in subscriber.received("nrp_simulation/0/status") if "state" in m.json()]
            return [status for status in statuses if status["state"] == "started"]

        # Transitions add a status of their own; the periodic ones follow them (every second, which
        # benchmarks/server_timings.py measures), each later in real and simulation time.
        periodic = eventually(lambda: started()[-3:] if len(started()) >= 3 else None, 10,
                              lambda: f"started statuses: {started()}")
        real_times = [status["realTime"] for status in periodic]
        assert real_times == sorted(real_times) and len(set(real_times)) == 3, periodic
        simulation_times = [status["simulationTime"] for status in periodic]
        assert simulation_times == sorted(simulation_times), periodic
        assert server.call("PUT", "simulation", "0", "state", body={"state": "stopped"})[0] == 200


def test_records_survive_a_restart_and_a_crash_fails_what_was_running(server, no_leftover_processes):
    server.start()
    assert server.call("POST", "simulation", body={"experimentID": "tf_exchange"})[0] == 201
    assert server.call("PUT", "simulation", "0", "state", body={"state": "stopped"})[0] == 200
    assert server.call("POST", "simulation", body={"experimentID": "tf_exchange"})[0] == 201
    assert server.call("PUT", "simulation", "1", "state", body={"state": "started"})[0] == 200
    assert core_processes(no_leftover_processes)

    server.stop(signal.SIGKILL)
    eventually(lambda: not core_processes(no_leftover_processes), 5, "the crashed server's simulation kept running",
               every_s=0.1)
    server.start()

    code, records = server.call("GET", "simulation")
    assert code == 200
    assert [(r["simulationID"], r["state"]) for r in records] == [(0, "stopped"), (1, "failed")]
    code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert (code, body["simulationID"]) == (201, 2)

    server.stop(signal.SIGTERM)  # a clean shutdown stops what runs
    server.start()
    assert server.call("GET", "simulation", "2", "state")[1] == {"state": "stopped"}
