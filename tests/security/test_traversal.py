"""Experiment ids and the config and main-script names of a launch cannot reach outside the storage:
'..', absolute paths, and symbolic links that lead out are all refused with a 4xx, and nothing is
launched."""


import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def outside(experiments_root, tmp_path):
    """A complete experiment outside the storage, and links to it and to its files from inside."""
    target = tmp_path / "outside" / "tf_exchange"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", target)
    (experiments_root / "escape").symlink_to(target, target_is_directory=True)
    inside = experiments_root / "tf_exchange"
    (inside / "linked_config.json").symlink_to(target / "simulation_config.json")
    (inside / "linked_main.py").symlink_to(target / "main_script.py")
    (inside / "linked_folder").symlink_to(target, target_is_directory=True)
    (inside / "relative_config.json").symlink_to("../../outside/tf_exchange/simulation_config.json")
    return target


BAD_EXPERIMENT_IDS = ["../tf_exchange", "tf_exchange/..", "/etc", "/", "escape", "escape/",
                      "tf_exchange/linked_folder", "tf_exchange\\..\\x", "tf_exchange\0", "..", "./tf_exchange"]
BAD_FILE_NAMES = ["../tf_exchange/simulation_config.json", "/etc/passwd", "linked_config.json",
                  "relative_config.json", "linked_folder/simulation_config.json", "..", "a/../simulation_config.json",
                  "simulation_config.json\0"]
BAD_SCRIPT_NAMES = ["../tf_exchange/main_script.py", "/etc/passwd", "linked_main.py", "linked_folder/main_script.py"]


async def assert_refused(nrp, body):
    code, answer, _ = await nrp.call("POST", "simulation", body=body)
    assert 400 <= code < 500, (body, code, answer)
    assert answer["type"] == "Client error", answer
    assert (await nrp.call("GET", "simulation"))[1] == [], "a refused launch left a record"
    return answer


@pytest.mark.parametrize("experiment_id", BAD_EXPERIMENT_IDS)
async def test_an_experiment_id_outside_the_storage_is_refused(nrp, outside, experiment_id):
    await assert_refused(nrp, {"experimentID": experiment_id})


@pytest.mark.parametrize("name", BAD_FILE_NAMES)
async def test_a_config_name_outside_the_experiment_is_refused(nrp, outside, name):
    answer = await assert_refused(nrp, {"experimentID": "tf_exchange", "experimentConfiguration": name})
    assert str(outside) not in answer["message"]


@pytest.mark.parametrize("name", BAD_SCRIPT_NAMES)
async def test_a_main_script_name_outside_the_experiment_is_refused(nrp, outside, name):
    answer = await assert_refused(nrp, {"experimentID": "tf_exchange", "mainScript": name})
    assert str(outside) not in answer["message"]


async def test_the_same_experiment_and_files_launch_when_named_plainly(nrp, outside):
    # The refusals above are about the names, not about the experiment.
    code, launched, _ = await nrp.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 201, launched
    assert (await nrp.put_state(launched["simulationID"], "stopped"))[0] == 200
