"""Launches that fail while the engines initialise, through the in-process server and real kernels.

An experiment whose files make an engine refuse to initialise (a missing world file, a brain that
raises, an engine script or a transceiver function that fails) is answered 400 "Client error", with
a message naming the engine and the file; a broken installation (an engine that cannot be started)
stays a 500 "General error". Either way the simulation is listed as `failed`, and a `Loading`
runtime_error names the file, and the line when it is known.
"""

import json

import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.nrp_jupyter.conftest import wait_message

pytestmark = pytest.mark.timeout(120)


def copy_experiment(experiments_root, source: str, name: str):
    folder = experiments_root / name
    copy_experiment_folder(EXPERIMENTS / source, folder, ignore=("*.log*", "*.zip", "data"))
    return folder


def insert_line(path, before: str, line: str) -> int:
    """Puts `line` (indented like the line it precedes) before the first line containing `before`;
    its 1-based line number."""
    lines = path.read_text().splitlines()
    index = next(i for i, text in enumerate(lines) if before in text)
    indent = lines[index][:len(lines[index]) - len(lines[index].lstrip())]
    lines.insert(index, indent + line)
    path.write_text("\n".join(lines) + "\n")
    return index + 1


async def launch_failure(nrp, subscriber, experiment_id, tmp_path):
    """Launches, expects the failure; the answer, the runtime_error and the final status."""
    code, body, _ = await nrp.launch(experiment_id)
    records = (await nrp.call("GET", "simulation"))[1]
    [record] = [r for r in records if r["experimentID"] == experiment_id]
    assert record["state"] == "failed"
    sid = record["simulationID"]
    error = await wait_message(subscriber, f"nrp_simulation/{sid}/runtime_error", timeout=5)
    await wait_message(subscriber, f"nrp_simulation/{sid}/status", lambda m: m.get("state") == "failed")
    # Nothing of the server's own folders reaches the client.
    assert str(tmp_path) not in body["message"] and str(tmp_path) not in error["msg"]
    assert list((tmp_path / "simulations").iterdir()) == []
    return code, body, error


async def test_a_missing_world_file_is_a_client_error_naming_engine_script_and_file(
        nrp, subscriber, experiments_root, tmp_path):
    folder = copy_experiment(experiments_root, "bullet_pendulum", "pendulum_without_world")
    (folder / "pendulum.urdf").unlink()

    code, body, error = await launch_failure(nrp, subscriber, "pendulum_without_world", tmp_path)

    assert (code, body["type"]) == (400, "Client error")
    assert body["message"].startswith("The experiment 'pendulum_without_world' could not be loaded")
    assert ('Engine "pendulum": initialize failed (script pendulum_engine.py): WorldFileError: '
            'WorldFileName "pendulum.urdf": file not found') in body["message"]
    assert "Internal server error" not in body["message"]
    assert (error["error_type"], error["fileName"], error["line_number"]) == (
        "Loading", "pendulum_engine.py", -1)
    assert error["msg"].startswith("Error initializing nrp_core client: Engine \"pendulum\"")
    assert 'WorldFileName "pendulum.urdf"' in error["msg"]


async def test_a_brain_that_raises_is_a_client_error_naming_the_file_and_line(
        nrp, subscriber, experiments_root, tmp_path):
    folder = copy_experiment(experiments_root, "nest_simple", "nest_broken_brain")
    # Only the brain matters here: functions load first, and would answer for themselves.
    config = json.loads((folder / "simulation_config.json").read_text())
    config.pop("DataPackProcessingFunctions")
    (folder / "simulation_config.json").write_text(json.dumps(config))
    line = insert_line(folder / "nest_simple.py", "voltmeter = nest.Create",
                       'raise ValueError("no such neuron model: iaf_broken")')

    code, body, error = await launch_failure(nrp, subscriber, "nest_broken_brain", tmp_path)

    assert (code, body["type"]) == (400, "Client error")
    assert f'Engine "nest": initialize failed in nest_simple.py, line {line}' in body["message"]
    assert "ValueError: no such neuron model: iaf_broken" in body["message"]
    assert (error["error_type"], error["fileName"], error["line_number"]) == (
        "Loading", "nest_simple.py", line)
    assert error["line_text"] == 'raise ValueError("no such neuron model: iaf_broken")'


async def test_an_engine_script_failing_in_initialize_is_a_client_error_naming_its_line(
        nrp, subscriber, experiments_root, tmp_path):
    folder = copy_experiment(experiments_root, "tf_exchange", "engine_refuses")
    line = insert_line(folder / "engine_2.py", "def runLoop", 'def initialize(self): raise KeyError("gain")')

    code, body, error = await launch_failure(nrp, subscriber, "engine_refuses", tmp_path)

    assert (code, body["type"]) == (400, "Client error")
    assert (f'Engine "python_2": initialize failed in engine_2.py, line {line}, in initialize'
            in body["message"])
    assert (error["fileName"], error["line_number"]) == ("engine_2.py", line)
    assert error["line_text"].strip() == 'def initialize(self): raise KeyError("gain")'


async def test_a_transceiver_function_that_does_not_load_is_a_client_error_naming_its_line(
        nrp, subscriber, experiments_root, tmp_path):
    folder = copy_experiment(experiments_root, "tf_exchange", "tf_does_not_load")
    line = insert_line(folder / "tf_1.py", "@EngineDataPack", "import module_that_is_not_there")

    code, body, error = await launch_failure(nrp, subscriber, "tf_does_not_load", tmp_path)

    assert (code, body["type"]) == (400, "Client error")
    assert f"tf_1.py, line {line}: ModuleNotFoundError" in body["message"]
    assert (error["error_type"], error["fileName"], error["line_number"]) == ("Loading", "tf_1.py", line)
    assert error["line_text"] == "import module_that_is_not_there"


async def test_an_engine_program_the_config_names_that_does_not_exist_is_a_client_error(
        nrp, subscriber, experiments_root, tmp_path):
    folder = copy_experiment(experiments_root, "tf_exchange", "engine_not_installed")
    config = json.loads((folder / "simulation_config.json").read_text())
    config["EngineConfigs"][1]["EngineProcCmd"] = "nrp-engine-that-is-not-installed"
    (folder / "simulation_config.json").write_text(json.dumps(config))

    code, body, error = await launch_failure(nrp, subscriber, "engine_not_installed", tmp_path)

    assert (code, body["type"]) == (400, "Client error")
    assert 'Engine "python_2"' in body["message"] and "nrp-engine-that-is-not-installed" in body["message"]
    assert (error["error_type"], error["fileName"]) == ("Loading", "simulation_config.json")


async def test_a_broken_main_script_still_launches_and_fails_after_as_in_nrp(
        nrp, subscriber, experiments_root):
    folder = copy_experiment(experiments_root, "tf_exchange", "script_does_not_compile")
    (folder / "main_script.py").write_text("while True\n    nrp.run_loop()\n")

    code, record, _ = await nrp.launch("script_does_not_compile")

    assert (code, record["state"]) == (201, "paused")
    await nrp.wait_state(record["simulationID"], "failed")
    error = await wait_message(subscriber, f"nrp_simulation/{record['simulationID']}/runtime_error")
    assert (error["error_type"], error["line_number"]) == ("Compile", 1)
