"""The datatransfer engines' files survive the stop: zipped beside the log archive, links refused."""

import logging
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from nrp_jupyter.server import run_logs
from nrp_jupyter.server import storage as storage_module
from nrp_jupyter.server.errors import GeneralError
from nrp_jupyter.server.storage import RUNS_AREA, ExperimentStorage

pytestmark = pytest.mark.timeout(30)

CONFIG = '{"SimulationName": "test", "SimulationTimeout": 1}'
RUN = "data/20240301-101500-4242"


def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def members(archive: Path) -> dict[str, str]:
    with zipfile.ZipFile(archive) as zipped:
        return {name: zipped.read(name).decode() for name in zipped.namelist()}


class FrozenClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2024, 3, 1, 10, 15, 0, tzinfo=tz)


@pytest.fixture
def layout(tmp_path):
    root = tmp_path / "experiments"
    write(root / "husky" / "simulation_config.json", CONFIG)
    write(root / "husky" / "main_script.py", "print('hi')")
    write(tmp_path / "outside" / "secret.data", "secret")
    return root


@pytest.fixture
def storage(layout, tmp_path):
    return ExperimentStorage(layout, simulations_dir=tmp_path / "sims")


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(storage_module, "datetime", FrozenClock)
    return "2024-03-01_10-15-00"


def test_the_data_files_are_zipped_into_the_experiment_with_their_paths(storage, layout, frozen):
    simulation_dir = storage.clone("husky", 7)
    write(simulation_dir / RUN / "engine_time.data", "sim_time,value\n0,0.0\n")
    write(simulation_dir / RUN / "time_array.data", "0.000000,0,0.000000,0.010000\n")
    write(simulation_dir / "elsewhere.data", "not in the data directory")

    archive = storage.archive_data(simulation_dir, ["data"], "husky", 7)

    assert archive == layout.resolve() / "husky" / f"{frozen}_simulation_7_data.zip"
    assert members(archive) == {f"{RUN}/engine_time.data": "sim_time,value\n0,0.0\n",
                                f"{RUN}/time_array.data": "0.000000,0,0.000000,0.010000\n"}
    assert not any(path.name.endswith(".partial") for path in archive.parent.iterdir())


def test_logs_and_data_of_one_stop_share_the_stamp(storage, layout):
    simulation_dir = storage.clone("husky", 3)
    write(simulation_dir / "simulation_3.log", "log")
    write(simulation_dir / RUN / "engine_time.data")
    stamp = "2030-01-02_03-04-05"

    logs = storage.archive_logs(simulation_dir, "husky", 3, stamp=stamp)
    data = storage.archive_data(simulation_dir, ["data"], "husky", 3, stamp=stamp)

    assert (logs.name, data.name) == (f"{stamp}_simulation_3.log.zip", f"{stamp}_simulation_3_data.zip")
    assert list(members(logs)) == ["simulation_3.log"]  # the log archive stays logs only


def test_a_second_data_archive_in_the_same_second_does_not_overwrite(storage, layout, frozen):
    simulation_dir = storage.clone("husky", 3)
    write(simulation_dir / RUN / "engine_time.data")
    names = [storage.archive_data(simulation_dir, ["data"], "husky", 3).name for _ in range(2)]
    assert names == [f"{frozen}_simulation_3_data.zip", f"{frozen}_simulation_3_2_data.zip"]


@pytest.mark.parametrize("written", [False, True])
def test_no_archive_when_the_run_wrote_no_data(storage, layout, written):
    simulation_dir = storage.clone("husky", 1)
    if written:
        (simulation_dir / "data" / "empty-run").mkdir(parents=True)
    before = sorted(path.name for path in (layout / "husky").iterdir())
    assert storage.archive_data(simulation_dir, ["data"], "husky", 1) is None
    assert storage.archive_data(simulation_dir, [], "husky", 1) is None
    assert sorted(path.name for path in (layout / "husky").iterdir()) == before


def test_a_missing_simulation_dir_has_nothing_to_archive(storage, tmp_path):
    assert storage.archive_data(tmp_path / "gone", ["data"], "husky", 1) is None


def test_files_the_experiment_brought_unchanged_are_left_out(storage, layout):
    write(layout / "husky" / "data" / "inputs.csv", "1,2,3\n")
    write(layout / "husky" / "data" / "appended.data", "first\n")
    simulation_dir = storage.clone("husky", 2)
    with open(simulation_dir / "data" / "appended.data", "a") as appended:
        appended.write("second\n")
    write(simulation_dir / RUN / "engine_time.data", "new")

    archive = storage.archive_data(simulation_dir, ["data"], "husky", 2)

    assert members(archive) == {"data/appended.data": "first\nsecond\n", f"{RUN}/engine_time.data": "new"}


def test_every_configured_directory_is_archived_once(storage, layout):
    simulation_dir = storage.clone("husky", 4)
    write(simulation_dir / "out" / "dumps" / "run" / "a.data", "a")
    write(simulation_dir / RUN / "b.data", "b")
    archive = storage.archive_data(simulation_dir, ["out/dumps", "data", "./data", "data/"], "husky", 4)
    assert sorted(members(archive)) == ["data/20240301-101500-4242/b.data", "out/dumps/run/a.data"]


def test_a_data_directory_outside_the_simulation_is_not_archived(storage, layout, tmp_path, caplog):
    simulation_dir = storage.clone("husky", 5)
    write(simulation_dir / RUN / "engine_time.data")
    outside = str(tmp_path / "outside")

    archive = storage.archive_data(simulation_dir, ["../../outside", outside, "data"], "husky", 5)

    assert list(members(archive)) == [f"{RUN}/engine_time.data"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("'../../outside'" in text and "leads out of the simulation directory" in text
               for text in warnings)
    assert any(repr(outside) in text and "absolute" in text for text in warnings)


def test_a_data_directory_linked_out_of_the_simulation_is_refused(storage, layout, tmp_path, caplog):
    simulation_dir = storage.clone("husky", 6)
    (simulation_dir / "data").symlink_to(tmp_path / "outside")
    (simulation_dir / "relative").symlink_to(Path("..") / ".." / "outside")

    assert storage.archive_data(simulation_dir, ["data", "relative"], "husky", 6) is None

    warnings = " ".join(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert "the symbolic link data leads out of the simulation directory" in warnings
    assert "'relative' not archived" in warnings
    assert not list((layout / "husky").glob("*_data.zip"))


def test_a_data_directory_linked_inside_the_simulation_is_archived_where_it_really_is(storage, layout):
    simulation_dir = storage.clone("husky", 8)
    write(simulation_dir / "results" / "run" / "engine_time.data", "t")
    (simulation_dir / "data").symlink_to("results")
    archive = storage.archive_data(simulation_dir, ["data"], "husky", 8)
    assert members(archive) == {"results/run/engine_time.data": "t"}


def test_links_inside_the_data_directory_are_not_followed(storage, layout, tmp_path, caplog):
    simulation_dir = storage.clone("husky", 9)
    write(simulation_dir / RUN / "engine_time.data", "mine")
    (simulation_dir / RUN / "stolen.data").symlink_to(tmp_path / "outside" / "secret.data")
    (simulation_dir / RUN / "stolen_folder").symlink_to(tmp_path / "outside")

    archive = storage.archive_data(simulation_dir, ["data"], "husky", 9)

    assert members(archive) == {f"{RUN}/engine_time.data": "mine"}
    warnings = " ".join(record.getMessage() for record in caplog.records if record.levelno == logging.WARNING)
    assert "stolen.data not archived: a symbolic link" in warnings
    assert "stolen_folder not archived: a symbolic link" in warnings


def test_data_of_a_removed_experiment_is_archived_into_the_runs_area(storage, layout):
    simulation_dir = storage.clone("husky", 10)
    write(simulation_dir / RUN / "engine_time.data")
    for path in (layout / "husky").iterdir():
        path.unlink()
    (layout / "husky").rmdir()
    archive = storage.archive_data(simulation_dir, ["data"], "husky", 10)
    assert archive.parent == layout.resolve() / RUNS_AREA / "husky"
    assert zipfile.ZipFile(archive).namelist() == [f"{RUN}/engine_time.data"]


def test_a_data_archive_that_cannot_be_written_fails_naming_it(storage, layout, frozen):
    simulation_dir = storage.clone("husky", 11)
    write(simulation_dir / RUN / "engine_time.data")
    # A folder where the archive is written first: opening it for writing fails, as a full disk would.
    (layout / "husky" / f".{frozen}_simulation_11_data.zip.partial").mkdir()
    with pytest.raises(GeneralError) as caught:
        storage.archive_data(simulation_dir, ["data"], "husky", 11)
    assert f"{frozen}_simulation_11_data.zip" in caught.value.message
    assert not (layout / "husky" / f"{frozen}_simulation_11_data.zip").exists()


def test_a_new_simulation_does_not_copy_the_data_archives(storage, layout):
    simulation_dir = storage.clone("husky", 12)
    write(simulation_dir / RUN / "engine_time.data")
    write(simulation_dir / "simulation_12.log")
    storage.archive_logs(simulation_dir, "husky", 12)
    storage.archive_data(simulation_dir, ["data"], "husky", 12)
    fresh = storage.clone("husky", 13)
    assert sorted(os.listdir(fresh)) == ["main_script.py", "simulation_config.json"]


# ---- which directories: the datatransfer engines' dataDirectory ---------------------------------

def datatransfer(name, **extra):
    return {"EngineType": "datatransfer_grpc_engine", "EngineName": name, "EngineTimestep": 0.01, **extra}


def test_the_data_directories_are_those_of_the_datatransfer_engines(tmp_path):
    import json

    config = {"SimulationName": "x", "SimulationTimeout": 1, "EngineConfigs": [
        {"EngineType": "python_json", "EngineName": "python_1", "PythonFileName": "engine_1.py"},
        datatransfer("default_place"), datatransfer("elsewhere", dataDirectory="out/dumps")]}
    path = write(tmp_path / "simulation_config.json", json.dumps(config))
    assert run_logs.data_directories(path) == ["data", "out/dumps"]
    config["EngineConfigs"] = config["EngineConfigs"][:1]
    path.write_text(json.dumps(config))
    assert run_logs.data_directories(path) == []


@pytest.mark.parametrize("text", [None, "{not json", '{"SimulationTimeout": "long"}'])
def test_an_unreadable_config_falls_back_to_the_default_data_directory(tmp_path, caplog, text):
    path = tmp_path / "simulation_config.json"
    if text is not None:
        path.write_text(text)
    assert run_logs.data_directories(path) == ["data"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any(str(path) in text for text in warnings)
