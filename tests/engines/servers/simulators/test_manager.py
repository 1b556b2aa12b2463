"""SimulatorManager's choice of simulator and its config errors, PySimEngineScript, and the nrp_core names."""

import logging

import pytest

from engines.servers.simulators.base import SimulatorError, SimulatorUnavailable
from engines.servers.simulators.manager import SimulatorManager
from tests.engines.servers.simulators.conftest import mujoco_config


def test_opensim_is_refused_with_the_reason_and_the_alternatives(tmp_path):
    with pytest.raises(SimulatorUnavailable) as caught:
        SimulatorManager({"Simulator": "Opensim", "WorldFileName": "arm26.osim"}, base_dir=tmp_path)
    message = str(caught.value)
    assert 'Simulator "Opensim" is not available' in message and "cannot be installed" in message
    assert "['Bullet', 'Mujoco', 'OpenAI']" in message


@pytest.mark.parametrize("simulator", ["Gazebo", None, "mujoco"])
def test_an_unknown_simulator_lists_the_known_ones(tmp_path, simulator):
    with pytest.raises(SimulatorUnavailable, match=r"Simulator .* is unknown; use one of \['Bullet', 'Mujoco', 'OpenAI'\]"):
        SimulatorManager({"Simulator": simulator, "WorldFileName": "x"}, base_dir=tmp_path)


def test_a_config_without_world_file_names_the_key(tmp_path):
    with pytest.raises(SimulatorError, match=r'the engine config has no WorldFileName \(required with Simulator "Mujoco"\)'):
        SimulatorManager({"Simulator": "Mujoco"}, base_dir=tmp_path)


def test_a_config_that_is_not_an_object_is_refused():
    with pytest.raises(SimulatorError, match="needs the engine config object"):
        SimulatorManager(["Mujoco"])


def test_visualizer_true_is_accepted_headless_with_a_warning(mjcf, caplog):
    with caplog.at_level(logging.WARNING):
        manager = SimulatorManager(mujoco_config(Visualizer=True), base_dir=mjcf)
    manager.run_step(None, 10_000_000)
    manager.shutdown()
    assert "Visualizer is true, but py_sim engines run headless here" in caplog.text


def test_the_timestep_defaults_to_engine_bases_and_world_files_are_relative_to_the_working_directory(
        mjcf, monkeypatch):
    monkeypatch.chdir(mjcf)
    config = mujoco_config()
    del config["EngineTimestep"]
    manager = SimulatorManager(config)
    assert manager.time_step == 0.01
    manager.shutdown()


def test_the_script_base_builds_the_manager_when_the_server_prepares_it(mjcf, monkeypatch):
    from nrp_core.engines.py_sim import PySimEngineScript

    monkeypatch.chdir(mjcf)

    class Script(PySimEngineScript):
        def runLoop(self, timestep_ns):
            self.sim_manager.run_step(None, timestep_ns)

    script = Script()
    assert script._config == {}
    config = mujoco_config()
    script._config = config  # as the server does, then _prepare before the script's initialize()
    assert "_sim_manager" not in script.__dict__
    script._prepare(config)
    built = script.__dict__["_sim_manager"]
    assert script.sim_manager is built and script._config["WorldFileName"] == "probe.xml"
    built.shutdown()


def test_the_script_base_fails_on_the_config_that_names_a_missing_world(tmp_path, monkeypatch):
    from nrp_core.engines.py_sim import PySimEngineScript

    monkeypatch.chdir(tmp_path)
    with pytest.raises(SimulatorError, match='WorldFileName "absent.xml": file not found'):
        PySimEngineScript()._prepare(mujoco_config("absent.xml"))


def test_nrp_cores_import_paths():
    from nrp_core.engines.py_sim import PySimEngineScript, SimulatorManager as Exported
    from nrp_core.engines.py_sim.SimManager import SimulatorManager as FromModule
    from nrp_core.engines.python_json import EngineScript

    assert Exported is FromModule is SimulatorManager
    assert issubclass(PySimEngineScript, EngineScript)
