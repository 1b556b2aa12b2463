"""Fixtures for kernel_ext: experiments in tmp_path and a real NrpCore (NRPCoreSim + engines) on them."""

import json
import time

import pytest

from engines.client import NrpCore
from kernel_ext.core_launch import free_localhost_port
from tests.conftest import EXPERIMENTS, copy_experiment_folder

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


def wait_until(condition, within_s, what):
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {within_s} s: {what}")
        time.sleep(0.01)


@pytest.fixture
def start_core(tmp_path, no_leftover_processes):
    """Starts an initialised NrpCore on a tf_exchange copy; every core is shut down at the end."""
    cores = []

    def start(**changes):
        directory = make_experiment(tmp_path / f"sim{len(cores)}", **changes)
        core = NrpCore(f"localhost:{free_localhost_port()}", experiment_folder=str(directory),
                       config_file="simulation_config.json", log_output="nrpcore_test.log")
        cores.append(core)
        core.initialize()
        return core, json.loads((directory / "simulation_config.json").read_text())

    yield start
    for core in cores:
        core.close()
