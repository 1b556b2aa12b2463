"""GET /nrp/experiments: the storage's experiments with the configs and main scripts a launch may
name (what JupyterLab's side panel offers), read from real folders; each choice it offers launches.
Authentication and the 503 of unusable records are in test_auth.py and test_records_unavailable.py."""

import json

import pytest

from nrp_jupyter.server.experiment_catalog import MAX_CONFIG_BYTES, describe_experiment

pytestmark = pytest.mark.timeout(60)


def test_an_experiment_offers_its_configs_and_the_scripts_no_config_names(tmp_path):
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "simulation_config.json").write_text(json.dumps({
        "SimulationName": "Exp", "SimulationDescription": "two engines",
        "EngineConfigs": [{"EngineName": "e", "PythonFileName": "engine.py"}],
        "DataPackProcessingFunctions": [{"Name": "tf", "FileName": "tf.py"}]}))
    (folder / "other_config.json").write_text(json.dumps({"EngineConfigs": []}))
    (folder / "data.json").write_text(json.dumps({"not": "a config"}))
    (folder / "list.json").write_text("[1, 2]")
    (folder / "broken.json").write_text("{")
    (folder / "huge_config.json").write_text(json.dumps({"EngineConfigs": [], "pad": "x" * MAX_CONFIG_BYTES}))
    for name in ("main_script.py", "a_variant.py", "engine.py", "tf.py"):
        (folder / name).write_text("")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.py").write_text("")
    (folder / "linked.py").symlink_to(folder / "a_variant.py")

    assert describe_experiment("exp", folder) == {
        "id": "exp", "name": "Exp", "description": "two engines",
        "configs": ["simulation_config.json", "other_config.json"],
        "scripts": ["main_script.py", "a_variant.py"],
    }


def test_an_unreadable_default_config_leaves_the_id_as_name(tmp_path):
    (tmp_path / "simulation_config.json").write_text("not json")
    assert describe_experiment("group/x", tmp_path) == {
        "id": "group/x", "name": "group/x", "description": "", "configs": [], "scripts": []}


async def test_the_endpoint_lists_every_experiment_and_each_choice_launches(nrp, experiments_root):
    variant = experiments_root / "group" / "variant"
    variant.mkdir(parents=True)
    for name in ("engine_1.py", "engine_2.py", "tf_1.py"):
        (variant / name).write_text((experiments_root / "tf_exchange" / name).read_text())
    config = json.loads((experiments_root / "tf_exchange" / "simulation_config.json").read_text())
    (variant / "simulation_config.json").write_text(json.dumps(config))
    (variant / "short_config.json").write_text(json.dumps({**config, "SimulationName": "short"}))
    (variant / "main_script.py").write_text("nrp.run_loop(1)\n")
    (variant / "other_script.py").write_text("nrp.run_loop(2)\n")

    code, experiments, _ = await nrp.call("GET", "experiments")
    assert code == 200
    by_id = {experiment["id"]: experiment for experiment in experiments}
    assert {"tf_exchange", "status_function", "slow_exchange", "group/variant"} <= set(by_id)
    assert by_id["group/variant"] == {
        "id": "group/variant", "name": "tf_exchange", "description": config["SimulationDescription"],
        "configs": ["simulation_config.json", "short_config.json"],
        "scripts": ["main_script.py", "other_script.py"]}
    assert by_id["tf_exchange"]["scripts"][0] == "main_script.py"
    assert "tf_1.py" not in by_id["tf_exchange"]["scripts"]

    # What it offers is what a launch accepts: the non-default choices launch (paused, then stopped).
    code, record, _ = await nrp.launch("group/variant", experimentConfiguration="short_config.json",
                                       mainScript="other_script.py")
    assert code == 201, record
    assert (record["experimentConfiguration"], record["mainScript"]) == ("short_config.json", "other_script.py")
    assert (await nrp.put_state(record["simulationID"], "stopped"))[0] == 200


async def test_the_document_describes_the_endpoint(nrp):
    document = (await nrp.call("GET", "openapi.json"))[1]
    assert set(document["paths"]["/experiments"]["get"]["responses"]) == {"200", "403", "503"}
    assert document["components"]["schemas"]["Experiment"]["required"] == [
        "id", "name", "description", "configs", "scripts"]
