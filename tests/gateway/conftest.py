"""Fixtures of the gateway tests: a real kernel gateway per test, started after the test's marker
is set (no_leftover_processes) so that its kernels, NRPCoreSim and the engines all carry it."""

import json

import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.gateway.gateway import KernelGateway, gateway_server

# A main script that prints, then fails on its own line 3 after one step.
RAISING_SCRIPT = ('print("main script output, through the gateway")\n'
                  'nrp.run_loop(1)\n'
                  'raise ValueError("broken on purpose")\n')


@pytest.fixture
def root(tmp_path):
    """The server's root: tf_exchange and tf_exchange_datatransfer as shipped, `long_exchange` (tf_exchange with a timeout
    that never comes) and `raising_exchange` (a main script that raises)."""
    experiments = tmp_path / "root" / "experiments"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", experiments / "tf_exchange")
    copy_experiment_folder(EXPERIMENTS / "tf_exchange_datatransfer", experiments / "tf_exchange_datatransfer")
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", experiments / "long_exchange")
    config_path = experiments / "long_exchange" / "simulation_config.json"
    config = json.loads(config_path.read_text())
    config["SimulationTimeout"] = 1000
    config_path.write_text(json.dumps(config))
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", experiments / "raising_exchange")
    (experiments / "raising_exchange" / "main_script.py").write_text(RAISING_SCRIPT)
    return tmp_path / "root"


@pytest.fixture
def gateway(tmp_path, no_leftover_processes):
    gateway = KernelGateway(tmp_path).start()
    yield gateway
    gateway.stop()


@pytest.fixture
def server(root, tmp_path, gateway):
    server = gateway_server(root, tmp_path, gateway.url).start()
    yield server
    server.stop()
