"""A recording that a server which died left in a simulation directory is archived, cut short as it
is, when the next server recovers the simulation; never one of a simulation still being stopped
(its recorder archives it), never a link."""

import json

import pytest

from nrp_jupyter.server.lifecycle import SimulationState
from nrp_jupyter.server.models import Simulation
from nrp_jupyter.server.recording import format as fmt
from nrp_jupyter.server.run_logs import archive_run
from nrp_jupyter.server.storage import ExperimentStorage


@pytest.fixture
def storage(tmp_path):
    experiment = tmp_path / "experiments" / "tf"
    experiment.mkdir(parents=True)
    (experiment / "simulation_config.json").write_text(json.dumps({"SimulationName": "tf", "EngineConfigs": []}))
    (experiment / "main_script.py").write_text("pass\n")
    return ExperimentStorage(tmp_path / "experiments", simulations_dir=tmp_path / "sims")


@pytest.mark.parametrize("state, archived", [(SimulationState.FAILED, True), (SimulationState.STARTED, False)])
def test_a_left_recording_is_archived_only_for_a_simulation_already_final(storage, state, archived):
    simulation_dir = storage.clone("tf", 4)
    (simulation_dir / "main_script_4.log").write_text("log\n")
    (simulation_dir / fmt.LIVE_FILE_NAME).write_bytes(b"\x89MCAP0\r\n cut short")
    record = Simulation(simulation_id=4, experiment_id="tf", state=state, simulation_dir=str(simulation_dir))

    assert archive_run(storage, record, simulation_dir)

    left = [path.read_bytes() for path in storage.resolve("tf").glob("*_simulation_4.mcap")]
    assert left == ([b"\x89MCAP0\r\n cut short"] if archived else [])


def test_a_left_recording_that_is_a_link_is_not_followed(storage, tmp_path):
    simulation_dir = storage.clone("tf", 5)
    (tmp_path / "elsewhere").write_text("not the run's")
    (simulation_dir / fmt.LIVE_FILE_NAME).symlink_to(tmp_path / "elsewhere")
    record = Simulation(simulation_id=5, experiment_id="tf", state=SimulationState.FAILED,
                        simulation_dir=str(simulation_dir))

    assert archive_run(storage, record, simulation_dir)

    assert not [*storage.resolve("tf").glob("*.mcap")]
