"""Black box: a run's logs are archived whatever happened to its experiment folder while it ran, and
a simulation that fails before its script prints anything still leaves an archive saying why."""

import shutil

import pytest

from nrp_jupyter.server.storage import RUNS_AREA
from tests.nrp_jupyter.test_rest_api import BROKEN_SCRIPT, simulation_dirs

pytestmark = pytest.mark.timeout(120)


def log_archives(folder, simulation_id):
    return sorted(folder.glob(f"*_simulation_{simulation_id}.log.zip")) if folder.is_dir() else []


async def launch_copy(nrp, experiments_root, name):
    shutil.copytree(experiments_root / "slow_exchange", experiments_root / name)
    code, answer, _ = await nrp.launch(name)
    assert code == 201, answer
    return answer["simulationID"]


@pytest.mark.parametrize("change", ["renamed", "removed"])
async def test_logs_are_archived_into_the_runs_area_when_the_experiment_folder_is_gone(
        nrp, experiments_root, tmp_path, change):
    simulation_id = await launch_copy(nrp, experiments_root, "doomed")
    assert (await nrp.put_state(simulation_id, "started"))[0] == 200
    if change == "renamed":
        (experiments_root / "doomed").rename(experiments_root / "doomed_moved")
    else:
        shutil.rmtree(experiments_root / "doomed")

    code, answer, _ = await nrp.put_state(simulation_id, "stopped")

    assert (code, answer) == (200, {"state": "stopped"})
    [archive] = log_archives(experiments_root / RUNS_AREA / "doomed", simulation_id)
    code, logs, _ = await nrp.call("GET", "simulation", str(simulation_id), "logs")
    assert code == 200
    assert f"nrpcore_{simulation_id}.log" in [entry["name"] for entry in logs["files"]]
    assert simulation_dirs(tmp_path) == []  # archived, so removed
    assert archive.stat().st_size > 0


async def test_the_runs_area_is_not_listed_as_an_experiment(nrp, experiments_root):
    simulation_id = await launch_copy(nrp, experiments_root, "vanishing")
    shutil.rmtree(experiments_root / "vanishing")
    await nrp.put_state(simulation_id, "stopped")
    assert (experiments_root / RUNS_AREA / "vanishing").is_dir()

    code, answer, _ = await nrp.launch(f"{RUNS_AREA}/vanishing")
    assert code == 400  # a folder of archives holds no simulation config


async def test_a_script_that_does_not_compile_leaves_an_archive_that_says_why(nrp, experiments_root, tmp_path):
    shutil.copytree(experiments_root / "tf_exchange", experiments_root / "broken")
    (experiments_root / "broken" / "main_script.py").write_text(BROKEN_SCRIPT)
    code, answer, _ = await nrp.launch("broken")
    simulation_id = answer["simulationID"]
    await nrp.wait_state(simulation_id, "failed")

    [archive] = log_archives(experiments_root / "broken", simulation_id)
    code, logs, _ = await nrp.call("GET", "simulation", str(simulation_id), "logs")
    [simulation_log] = [entry["content"] for entry in logs["files"] if entry["name"] == f"simulation_{simulation_id}.log"]
    assert f"simulation {simulation_id} failed:" in simulation_log
    assert "main_script.py, line 4: SyntaxError" in simulation_log
    assert "while True" in simulation_log
    assert simulation_dirs(tmp_path) == []
