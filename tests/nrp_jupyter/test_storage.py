"""Experiment storage: id resolution and traversal refusal, cloning, log archives, removal."""

import os
import re
import shutil
import tempfile
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from nrp_jupyter.server.errors import ExperimentNotFound, GeneralError, InvalidExperimentId
from nrp_jupyter.server import storage as storage_module
from nrp_jupyter.server.storage import RUNS_AREA, ExperimentStorage, relative_path_problem

CONFIG = '{"SimulationName": "test", "SimulationTimeout": 1}'


def write(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def tree(folder: Path) -> set[str]:
    """Every entry below `folder`, as relative POSIX paths; folders end in '/'."""
    entries = set()
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        entries.add(relative + "/" if path.is_dir() and not path.is_symlink() else relative)
    return entries


@pytest.fixture
def layout(tmp_path):
    """A storage root with two experiments, and a secret folder next to it."""
    root = tmp_path / "experiments"
    write(root / "husky" / "simulation_config.json", CONFIG)
    write(root / "husky" / "main_script.py", "print('hi')")
    write(root / "group" / "nested" / "simulation_config.json", CONFIG)
    write(tmp_path / "outside" / "secret.txt", "secret")
    return root


@pytest.fixture
def storage(layout, tmp_path):
    return ExperimentStorage(layout, simulations_dir=tmp_path / "sims")


# ---- resolve ------------------------------------------------------------------------------------

def test_resolve_plain_and_nested_ids(storage, layout):
    assert storage.resolve("husky") == layout.resolve() / "husky"
    assert storage.resolve("group/nested") == layout.resolve() / "group" / "nested"
    assert storage.resolve("group") == layout.resolve() / "group"


def test_resolve_a_missing_experiment(storage, layout):
    with pytest.raises(ExperimentNotFound) as caught:
        storage.resolve("nope")
    # The client knows experiments by id; where the storage is on the server's disk is not theirs.
    assert caught.value.message == "The experiment 'nope' was not found in the experiment storage"
    assert caught.value.http_status == 404


def test_a_file_is_not_an_experiment(storage):
    with pytest.raises(ExperimentNotFound):
        storage.resolve("husky/main_script.py")
    with pytest.raises(ExperimentNotFound):
        storage.resolve("husky/main_script.py/deeper")


@pytest.mark.parametrize(("experiment_id", "reason"), [
    ("../outside", "must not contain '..'"),
    ("..", "must not contain '..'"),
    ("a/../../b", "must not contain '..'"),
    ("husky/../..", "must not contain '..'"),
    ("/etc", "must be a relative path, not an absolute one"),
    ("//etc", "must be a relative path, not an absolute one"),
    ("", "must not be empty"),
    ("hus\0ky", "must not contain a NUL byte"),
    ("..\\outside", "must use '/' between folders, not '\\'"),
    (".", "must not contain empty or '.' segments"),
    ("husky/", "must not contain empty or '.' segments"),
    ("group//nested", "must not contain empty or '.' segments"),
])
def test_resolve_refuses_ids_that_are_not_plain_relative_paths(storage, experiment_id, reason):
    with pytest.raises(InvalidExperimentId) as caught:
        storage.resolve(experiment_id)
    assert caught.value.message == f"Invalid experiment ID {experiment_id!r}: {reason}"
    assert caught.value.http_status == 400


def test_resolve_refuses_a_non_string(storage):
    with pytest.raises(InvalidExperimentId) as caught:
        storage.resolve(None)  # type: ignore[arg-type]
    assert caught.value.message == "Invalid experiment ID None: must be a string, not NoneType"


def test_resolve_refuses_a_symlink_to_outside(storage, layout, tmp_path):
    (layout / "escape").symlink_to(tmp_path / "outside")
    (layout / "relative_escape").symlink_to(Path("..") / "outside")
    (layout / "husky" / "up").symlink_to(Path("..") / "..")
    for experiment_id in ("escape", "relative_escape", "husky/up", "husky/up/outside"):
        with pytest.raises(InvalidExperimentId, match="leads out of the experiment storage"):
            storage.resolve(experiment_id)


def test_resolve_refuses_a_link_chain_that_ends_outside(storage, layout, tmp_path):
    (layout / "second").symlink_to(tmp_path / "outside")
    (layout / "first").symlink_to(layout / "second")
    with pytest.raises(InvalidExperimentId) as caught:
        storage.resolve("first")
    assert caught.value.message == ("Invalid experiment ID 'first': the symbolic link second "
                                    "leads out of the experiment storage")


def test_resolve_follows_links_that_stay_inside(storage, layout):
    (layout / "alias").symlink_to(layout / "husky")
    (layout / "group" / "sibling").symlink_to(Path("..") / "husky")
    assert storage.resolve("alias") == layout.resolve() / "husky"
    assert storage.resolve("group/sibling") == layout.resolve() / "husky"


def test_resolve_refuses_a_link_to_the_root_itself(storage, layout):
    (layout / "everything").symlink_to(layout)
    (layout / "group" / "up").symlink_to("..")
    for experiment_id in ("everything", "group/up"):
        with pytest.raises(InvalidExperimentId) as caught:
            storage.resolve(experiment_id)
        assert caught.value.message == (f"Invalid experiment ID {experiment_id!r}: "
                                        "names the experiment storage itself")
    assert storage.resolve("everything/husky") == layout.resolve() / "husky"


def test_resolve_refuses_a_link_loop(storage, layout):
    (layout / "loop_a").symlink_to("loop_b")
    (layout / "loop_b").symlink_to("loop_a")
    with pytest.raises(InvalidExperimentId, match="too many symbolic links"):
        storage.resolve("loop_a")


def test_resolve_does_not_look_outside_the_root(storage, layout, tmp_path, monkeypatch):
    """Every path stat'ed or read while refusing an escape lies inside the root."""
    (layout / "escape").symlink_to(tmp_path / "outside" / "secret.txt")
    root = str(layout.resolve())
    touched: list[str] = []
    for name in ("lstat", "stat", "readlink"):
        original = getattr(os, name)

        def spy(path, *args, _original=original, **kwargs):
            touched.append(os.fspath(path))
            return _original(path, *args, **kwargs)

        monkeypatch.setattr(os, name, spy)
    for experiment_id in ("escape", "escape/x", "../outside", "/etc", "a/../../outside"):
        with pytest.raises(InvalidExperimentId):
            storage.resolve(experiment_id)
    assert touched, "the spy saw nothing"
    assert all(path == root or path.startswith(root + os.sep) for path in touched), touched


def test_refusals_create_nothing(storage, layout, tmp_path):
    before = tree(tmp_path)
    for experiment_id in ("../outside", "/etc", "a/../../b", "", "x\0y"):
        with pytest.raises(InvalidExperimentId):
            storage.clone(experiment_id, 0)
    with pytest.raises(ExperimentNotFound):
        storage.clone("nope", 0)
    assert tree(tmp_path) == before


@pytest.mark.parametrize(("value", "problem"), [
    ("main_script.py", None),
    ("scripts/main.py", None),
    (".hidden.py", None),
    ("a..b", None),
    ("../x", "must not contain '..'"),
    ("x/..", "must not contain '..'"),
    ("/abs", "must be a relative path, not an absolute one"),
    ("", "must not be empty"),
    ("a/./b", "must not contain empty or '.' segments"),
    (b"bytes", "must be a string, not bytes"),
])
def test_relative_path_problem(value, problem):
    assert relative_path_problem(value) == problem


# ---- list_experiments ---------------------------------------------------------------------------

def test_list_experiments(storage, layout, tmp_path):
    write(layout / "no_config" / "main_script.py")
    write(layout / ".hidden" / "simulation_config.json", CONFIG)
    write(layout / "husky" / "inner" / "simulation_config.json", CONFIG)  # inside an experiment
    write(layout / "a" / "b" / "c" / "d" / "simulation_config.json", CONFIG)  # too deep
    write(layout / "a" / "b" / "c" / "simulation_config.json", CONFIG)
    (layout / "linked").symlink_to(tmp_path / "outside")
    write(tmp_path / "outside" / "simulation_config.json", CONFIG)
    assert storage.list_experiments() == ["a/b/c", "group/nested", "husky"]
    assert storage.list_experiments(max_depth=1) == ["husky"]


def test_list_experiments_of_a_missing_root(tmp_path):
    assert ExperimentStorage(tmp_path / "missing").list_experiments() == []


# ---- clone --------------------------------------------------------------------------------------

def test_clone_copies_without_nrps_exclusions(storage, layout, tmp_path):
    experiment = layout / "husky"
    write(experiment / "models" / "robot.sdf", "<sdf/>")
    write(experiment / "simulation_0.log", "old log")
    write(experiment / ".hidden.log", "old log")
    write(experiment / "2024-01-01_10-00-00_simulation_0.log.zip", "zip")
    write(experiment / "logs" / "engine.txt", "log")
    write(experiment / "__pycache__" / "tf.cpython-311.pyc", "pyc")
    write(experiment / "models" / "__pycache__" / "m.pyc", "pyc")
    write(experiment / "models" / "deep.log", "log")
    write(experiment / "catalog.logs", "kept: not *.log")
    write(experiment / "log.py", "kept")
    (experiment / "big_data").mkdir()
    write(experiment / "big_data" / "logs", "a file called logs is kept")

    clone = storage.clone("husky", 5)

    assert clone.parent == tmp_path / "sims"
    assert clone.name.startswith("nrp.5.")
    assert tree(clone) == {
        "simulation_config.json", "main_script.py", "models/", "models/robot.sdf", "catalog.logs", "log.py",
        "big_data/", "big_data/logs",
    }
    assert (clone / "models" / "robot.sdf").read_text() == "<sdf/>"
    assert (clone / "simulation_config.json").read_text() == CONFIG


def test_clone_copies_links_as_links(storage, layout, tmp_path):
    experiment = layout / "husky"
    (experiment / "secret_link").symlink_to(tmp_path / "outside" / "secret.txt")
    (experiment / "outside_dir").symlink_to(tmp_path / "outside")
    (experiment / "script_alias.py").symlink_to("main_script.py")
    clone = storage.clone("husky", 1)
    assert os.readlink(clone / "secret_link") == str(tmp_path / "outside" / "secret.txt")
    assert os.readlink(clone / "outside_dir") == str(tmp_path / "outside")
    assert os.readlink(clone / "script_alias.py") == "main_script.py"
    assert (clone / "script_alias.py").read_text() == "print('hi')"
    assert sorted(p.name for p in (tmp_path / "outside").iterdir()) == ["secret.txt"]


def test_clone_skips_fifos(storage, layout):
    os.mkfifo(layout / "husky" / "pipe")
    clone = storage.clone("husky", 2)
    assert tree(clone) == {"simulation_config.json", "main_script.py"}


def test_clone_gives_fresh_directories(storage):
    first = storage.clone("husky", 0)
    second = storage.clone("husky", 0)
    assert first != second
    assert first.name.startswith("nrp.0.") and second.name.startswith("nrp.0.")


def test_clone_of_a_nested_experiment(storage):
    clone = storage.clone("group/nested", 3)
    assert tree(clone) == {"simulation_config.json"}


def test_clone_into_the_system_temp_folder(layout):
    clone = ExperimentStorage(layout).clone("husky", 11)
    try:
        assert clone.parent == Path(tempfile.gettempdir())
        assert clone.name.startswith("nrp.11.")
        assert (clone / "main_script.py").is_file()
    finally:
        ExperimentStorage(layout).remove(clone)


def test_clone_that_cannot_copy_names_the_paths_and_cleans_up(storage, layout, tmp_path, monkeypatch):
    write(layout / "husky" / "unreadable.txt")
    copyfile = shutil.copyfile

    def refuse(source, destination, **kwargs):
        if os.path.basename(source) == "unreadable.txt":
            raise PermissionError(13, "Permission denied", source)
        return copyfile(source, destination, **kwargs)

    # Patched rather than chmod'ed: root reads anything, and the tests may run as root.
    monkeypatch.setattr(shutil, "copyfile", refuse)
    with pytest.raises(GeneralError) as caught:
        storage.clone("husky", 8)
    message = caught.value.message
    source = layout.resolve() / "husky"
    assert message.startswith(f"Internal server error: could not copy the experiment {source} "
                              f"to {tmp_path / 'sims'}/nrp.8.")
    assert "Permission denied" in message and "unreadable.txt" in message
    assert list((tmp_path / "sims").iterdir()) == []


def test_clone_whose_simulations_dir_cannot_be_made(layout, tmp_path):
    blocker = write(tmp_path / "file")
    with pytest.raises(GeneralError) as caught:
        ExperimentStorage(layout, simulations_dir=blocker / "sims").clone("husky", 0)
    assert str(blocker / "sims") in caught.value.message


# ---- archive_logs -------------------------------------------------------------------------------

ARCHIVE_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_simulation_(\d+)\.log\.zip$")


def test_archive_logs(storage, layout):
    simulation_dir = storage.clone("husky", 7)
    write(simulation_dir / "simulation_7.log", "sim log")
    write(simulation_dir / ".main_script_7.log", "script log")
    write(simulation_dir / "logs" / "engine.txt", "engine")
    write(simulation_dir / "logs" / "deeper" / "nrpcore.log", "core")
    write(simulation_dir / "not_a_log.txt", "no")
    write(simulation_dir / "models" / "inner.log", "not top level")

    archive = storage.archive_logs(simulation_dir, "husky", 7)

    assert archive.parent == layout.resolve() / "husky"
    assert ARCHIVE_NAME.match(archive.name).group(1) == "7"
    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == [
            ".main_script_7.log", "logs/deeper/nrpcore.log", "logs/engine.txt", "simulation_7.log"]
        assert zipped.read("simulation_7.log") == b"sim log"
        assert zipped.read("logs/deeper/nrpcore.log") == b"core"
    assert not any(p.name.endswith(".partial") for p in archive.parent.iterdir())


def test_archive_logs_with_nothing_to_archive(storage, layout):
    simulation_dir = storage.clone("husky", 1)
    before = tree(layout)
    assert storage.archive_logs(simulation_dir, "husky", 1) is None
    assert tree(layout) == before


def test_archive_logs_of_a_missing_simulation_dir(storage, tmp_path):
    assert storage.archive_logs(tmp_path / "gone", "husky", 1) is None
    assert storage.archive_logs(tmp_path / "gone", "no_such_experiment", 1) is None


def test_archive_logs_skips_links(storage, tmp_path):
    simulation_dir = storage.clone("husky", 2)
    (simulation_dir / "stolen.log").symlink_to(tmp_path / "outside" / "secret.txt")
    (simulation_dir / "logs").symlink_to(tmp_path / "outside")
    assert storage.archive_logs(simulation_dir, "husky", 2) is None


class FrozenClock(datetime):
    @classmethod
    def now(cls, tz=None):
        return cls(2024, 3, 1, 10, 15, 0, tzinfo=tz)


def test_archive_name_is_the_local_time_and_id(storage, layout, monkeypatch):
    monkeypatch.setattr(storage_module, "datetime", FrozenClock)
    simulation_dir = storage.clone("husky", 12)
    write(simulation_dir / "simulation_12.log", "log")
    archive = storage.archive_logs(simulation_dir, "husky", 12)
    assert archive == layout.resolve() / "husky" / "2024-03-01_10-15-00_simulation_12.log.zip"


def test_archive_logs_never_overwrites(storage, layout, monkeypatch):
    monkeypatch.setattr(storage_module, "datetime", FrozenClock)
    simulation_dir = storage.clone("husky", 3)
    write(simulation_dir / "simulation_3.log", "log")
    names = [storage.archive_logs(simulation_dir, "husky", 3).name for _ in range(3)]
    assert names == ["2024-03-01_10-15-00_simulation_3.log.zip", "2024-03-01_10-15-00_simulation_3_2.log.zip",
                     "2024-03-01_10-15-00_simulation_3_3.log.zip"]
    assert all((layout / "husky" / name).is_file() for name in names)


def test_archive_logs_when_the_experiment_is_gone_go_to_the_runs_area(storage, layout):
    simulation_dir = storage.clone("group/nested", 4)
    write(simulation_dir / "simulation_4.log")
    for path in sorted((layout / "group" / "nested").rglob("*"), reverse=True):
        path.unlink()
    (layout / "group" / "nested").rmdir()
    archive = storage.archive_logs(simulation_dir, "group/nested", 4)
    assert archive.parent == layout.resolve() / RUNS_AREA / "group" / "nested"
    assert zipfile.ZipFile(archive).namelist() == ["simulation_4.log"]
    assert storage.archive_folders("group/nested") == [archive.parent]


def test_cloning_leaves_archived_logs_behind(storage):
    simulation_dir = storage.clone("husky", 9)
    write(simulation_dir / "simulation_9.log")
    storage.archive_logs(simulation_dir, "husky", 9)
    assert tree(storage.clone("husky", 10)) == {"simulation_config.json", "main_script.py"}


# ---- remove -------------------------------------------------------------------------------------

def test_remove(storage):
    simulation_dir = storage.clone("husky", 0)
    storage.remove(simulation_dir)
    assert not simulation_dir.exists()
    storage.remove(simulation_dir)  # already gone: fine
    storage.remove(str(simulation_dir))


def test_remove_refuses_what_clone_did_not_make(storage, layout):
    with pytest.raises(GeneralError) as caught:
        storage.remove(layout / "husky")
    assert caught.value.message == (f"Internal server error: refusing to remove {layout / 'husky'}: "
                                    "not a simulation directory")
    assert (layout / "husky" / "main_script.py").is_file()


def test_remove_does_not_follow_a_link(storage, tmp_path):
    link = tmp_path / "sims" / "nrp.3.link"
    link.parent.mkdir(parents=True)
    link.symlink_to(tmp_path / "outside")
    with pytest.raises(GeneralError, match=re.escape(str(link))):
        storage.remove(link)
    assert (tmp_path / "outside" / "secret.txt").is_file()
