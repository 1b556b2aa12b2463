"""One real server for the scale tests: its own process, mosquitto as its broker (what CI must
exercise) and an explicit `max_simulations` of 4, the default, so that queueing is observed at the
limit users get. Experiments: `tf_exchange` and `scale_runs_until_stopped`."""

import pytest

from tests.conftest import EXPERIMENTS
from tests.live_server import LiveServer, experiments_root
from tests.notebook.client import experiments
from tests.nrp_jupyter.mqtt_helpers import Mosquitto, mosquitto_executable

MAX_SIMULATIONS = 4
RUNS_UNTIL_STOPPED = experiments.RUNS_UNTIL_STOPPED

def stop_everything(server) -> None:
    """Stops every simulation that is not final (completed ones hold a slot too)."""
    code, records = server.call("GET", "simulation")
    for record in records if code == 200 else []:
        if record.get("state") not in ("stopped", "failed"):
            server.call("PUT", "simulation", str(record["simulationID"]), "state", body={"state": "stopped"})

@pytest.fixture(scope="session")
def scale_broker(tmp_path_factory):
    broker = Mosquitto(mosquitto_executable(), tmp_path_factory.mktemp("mosquitto") / "mosquitto.log")
    broker.start()
    yield broker
    broker.stop()

@pytest.fixture(scope="session")
def scale_server_process(tmp_path_factory, scale_broker):
    tmp_path = tmp_path_factory.mktemp("scale_server")
    root = experiments_root(tmp_path / "root", EXPERIMENTS, ["tf_exchange"])
    experiments.add_runs_until_stopped(root)
    server = LiveServer(root, tmp_path, (f"--NrpJupyterApp.max_simulations={MAX_SIMULATIONS}",
                                         f"--NrpJupyterApp.mqtt_broker={scale_broker.address}")).start()
    yield server
    server.close()

@pytest.fixture
def scale_server(scale_server_process):
    """The scale tests' server, quiet before and after each test."""
    stop_everything(scale_server_process)
    yield scale_server_process
    stop_everything(scale_server_process)
