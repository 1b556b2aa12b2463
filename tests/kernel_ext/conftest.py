"""Fixtures for kernel_ext: experiments in tmp_path and a real NrpCore (NRPCoreSim + engines) on them."""

import json

import pytest

from engines.nrpcore_client import NrpCore
from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.ports import free_address

TF_EXCHANGE = EXPERIMENTS / "tf_exchange"


def make_experiment(directory, *, timeout=None, timestep=None, script=None, drop=()):
    """A copy of tf_exchange in `directory`, with its config and main script changed as asked."""
    copy_experiment_folder(TF_EXCHANGE, directory)
    config_path = directory / "simulation_config.json"
    config = json.loads(config_path.read_text())
    if timeout is not None:
        config["SimulationTimeout"] = timeout
    if timestep is not None:
        config["SimulationTimestep"] = timestep
    for key in drop:
        config.pop(key, None)
    config_path.write_text(json.dumps(config, indent=2))
    if script is not None:
        (directory / "main_script.py").write_text(script)
    return directory


@pytest.fixture
def start_core(tmp_path, no_leftover_processes):
    """Starts an initialised NrpCore on a tf_exchange copy; every core is shut down at the end."""
    cores = []

    def start(**changes):
        directory = make_experiment(tmp_path / f"sim{len(cores)}", **changes)
        core = NrpCore(free_address("localhost"), experiment_folder=str(directory),
                       config_file="simulation_config.json", log_output="nrpcore_test.log")
        cores.append(core)
        core.initialize()
        return core, json.loads((directory / "simulation_config.json").read_text())

    yield start
    for core in cores:
        core.close()
