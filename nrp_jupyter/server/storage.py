"""Experiments on the local disk: the storage root, simulation directories, log archives.

This stands in for NRP's storage proxy (nrp.md §1.7): an experiment is a folder under the root,
its id the folder's path relative to the root (`husky_braitenberg`, or nested, `group/exp`). A
launch copies the experiment into a fresh simulation directory, as NRP's `initialize` does; a stop
zips the logs back into the experiment folder, and the files the datatransfer engines wrote
beside them, then removes the simulation directory.

Experiment ids come from REST clients, so `resolve` refuses every id that is not a plain relative
path, and follows symbolic links one component at a time, refusing any that leads out of the root,
before anything outside the root is looked at. Data folders come from experiment configs, and are
resolved inside the simulation directory the same way.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path, PurePosixPath

from nrp_jupyter.server.errors import ExperimentNotFound, GeneralError, InvalidExperimentId
from nrp_jupyter.server.limits import path_length_problem

log = logging.getLogger(__name__)

CONFIG_FILE = "simulation_config.json"
# NRP's exclusions when cloning an experiment (nrp.md §1.4): fnmatch on file names, and directory names.
# Beyond NRP's list, this server's data archives and recordings: every run would copy all earlier ones.
EXCLUDED_FILES = ("*.log", "*.log.zip", "*_simulation_*_data.zip", "*_simulation_*.mcap")
EXCLUDED_DIRS = ("logs", "__pycache__")
LOG_FILES = "*.log"  # matches `.name.log` too: fnmatch gives no special meaning to a leading dot
LOG_DIR = "logs"
SIMULATION_DIR_PREFIX = "nrp."
# `<YYYY-mm-dd_HH-MM-SS>_simulation_<id>[_<copy>](.log.zip|_data.zip)`, as `_write_archive` names them.
_ARCHIVE_NAME = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_simulation_(?P<id>\d{1,18})(?:_\d+)?(?:\.log|_data)\.zip")
# Where a run's archives go when its experiment folder was moved or removed while it ran:
# `<storage>/nrp_runs/<experiment id>/`, so that no run loses its logs.
RUNS_AREA = "nrp_runs"
# Same bound as the kernel's (ELOOP); a cycle of links inside the root ends here.
_MAX_SYMLINKS = 40
# Folders list_experiments never descends into: tools' caches, and NRP's own excluded folders.
_SKIPPED_DIRS = frozenset({"__pycache__", "logs", "node_modules"})


class PathEscape(ValueError):
    """A path that leads out of the folder it must stay in (through '..' or a symbolic link)."""


def resolve_inside(root: Path, parts: tuple[str, ...], place: str) -> Path:
    """Join `parts` to `root` (a real path), following links by hand so that only `root` is touched.

    `current` is always a link-free path inside the root, so '..' from a link's target is its real
    parent, as the kernel would resolve it. Raises `PathEscape` for a '..' or a link that leads out
    of the root, and for more than 40 links (the kernel's ELOOP bound; a cycle ends here); its
    message calls the root `place`.
    """
    current = root
    pending = list(parts)
    links = 0
    while pending:
        part = pending.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if current == root:
                raise PathEscape(f"'..' leads out of {place}")
            current = current.parent
            continue
        candidate = current / part
        if not candidate.is_symlink():
            current = candidate
            continue
        links += 1
        if links > _MAX_SYMLINKS:
            raise PathEscape(f"too many symbolic links under {place}")
        target = os.readlink(candidate)
        if os.path.isabs(target):
            try:
                inside = PurePosixPath(os.path.normpath(target)).relative_to(root).parts
            except ValueError:
                raise PathEscape(f"the symbolic link {candidate.relative_to(root)} leads out of {place}") from None
            current = root
            pending[:0] = inside
        else:
            pending[:0] = PurePosixPath(target).parts
    return current


def relative_path_problem(value: object) -> str | None:
    """What makes `value` unusable as a relative path inside a folder, or None if it is fine.

    Pure: looks at the string only. Segments are separated by '/'; '..', '.', empty segments,
    absolute paths, backslashes and NUL bytes are refused, so a valid value names exactly one
    place below its folder and cannot be read two ways.
    """
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "must not be empty"
    too_long = path_length_problem(value)
    if too_long is not None:
        return too_long
    if "\0" in value:
        return "must not contain a NUL byte"
    if "\\" in value:
        return "must use '/' between folders, not '\\'"
    if value.startswith("/"):
        return "must be a relative path, not an absolute one"
    segments = value.split("/")
    if ".." in segments:
        return "must not contain '..'"
    if any(segment in ("", ".") for segment in segments):
        return "must not contain empty or '.' segments"
    return None


class ExperimentStorage:
    """The experiments under `root`, and the simulation directories cloned from them.

    Simulation directories are made under `simulations_dir` if given, else in the system's temp
    folder, named `nrp.<simulation id>.<random>` as NRP names them.
    """

    def __init__(self, root: Path | str, simulations_dir: Path | str | None = None):
        # The real path: every containment check below compares real paths against it.
        self.root = Path(root).resolve()
        self.simulations_dir = Path(simulations_dir) if simulations_dir is not None else None

    def resolve(self, experiment_id: str) -> Path:
        """The real path of the experiment folder `experiment_id`.

        Raises `InvalidExperimentId` for an id that is not a plain relative path or that leads out
        of the root through a symbolic link, `ExperimentNotFound` if there is no such folder.
        """
        problem = relative_path_problem(experiment_id)
        if problem is not None:
            raise InvalidExperimentId(experiment_id, problem)
        try:
            folder = resolve_inside(self.root, PurePosixPath(experiment_id).parts, "the experiment storage")
        except PathEscape as escape:
            raise InvalidExperimentId(experiment_id, str(escape)) from None
        if folder == self.root:
            # Only a link back to the root gets here; the root holds experiments, it is not one.
            raise InvalidExperimentId(experiment_id, "names the experiment storage itself")
        if not folder.is_dir():
            raise ExperimentNotFound(experiment_id)
        return folder

    def list_experiments(self, max_depth: int = 3) -> list[str]:
        """Ids of the folders under the root, down to `max_depth` levels, holding a `simulation_config.json`.

        Hidden folders, caches, symbolic links and the insides of experiments are not searched:
        the root may well be a whole Jupyter home.
        """
        found: list[str] = []
        if not self.root.is_dir():
            return found
        for folder, dirnames, filenames in os.walk(self.root, onerror=self._log_walk_error):
            relative = Path(folder).relative_to(self.root)
            if relative.parts and CONFIG_FILE in filenames:
                found.append(relative.as_posix())
                dirnames.clear()
                continue
            if len(relative.parts) >= max_depth:
                dirnames.clear()
                continue
            dirnames[:] = [name for name in dirnames
                           if not name.startswith(".") and name not in _SKIPPED_DIRS]
        return sorted(found)

    def highest_archived_id(self, max_depth: int = 4) -> int | None:
        """The highest simulation id that an archive in the storage carries (`*_simulation_<id>.log.zip`,
        `..._data.zip`), experiments and runs area alike; None if there is none. Records that were
        lost must not hand out these ids again: a new archive would sit beside an old one of the same id."""
        highest = None
        if not self.root.is_dir():
            return highest
        for folder, dirnames, filenames in os.walk(self.root, onerror=self._log_walk_error):
            for name in filenames:
                found = _ARCHIVE_NAME.fullmatch(name)
                if found is not None:
                    highest = max(highest if highest is not None else -1, int(found["id"]))
            if len(Path(folder).relative_to(self.root).parts) >= max_depth:
                dirnames.clear()
            dirnames[:] = [name for name in dirnames if not name.startswith(".") and name not in _SKIPPED_DIRS]
        return highest

    @staticmethod
    def _log_walk_error(error: OSError) -> None:
        log.warning("Skipping %s while listing experiments: %s", error.filename, error.strerror)

    def staging_dir(self) -> Path:
        """A fresh, empty directory beside the simulation directories (`nrp.fetch.<random>`), for an
        experiment fetched from elsewhere before it has a simulation id; `adopt` makes it one."""
        return self._new_dir(f"{SIMULATION_DIR_PREFIX}fetch.")

    def adopt(self, staging: Path, simulation_id: int) -> Path:
        """The directory `staging` (from `staging_dir`) renamed into simulation `simulation_id`'s."""
        destination = self._new_dir(f"{SIMULATION_DIR_PREFIX}{simulation_id}.")
        try:
            # Onto the empty directory just made: the name stays reserved until the rename.
            os.replace(staging, destination)
        except OSError as error:
            shutil.rmtree(destination, ignore_errors=True)
            raise GeneralError(f"could not move {staging} to {destination}: {error.strerror or error}") from error
        return destination

    def _new_dir(self, prefix: str) -> Path:
        parent = self.simulations_dir
        try:
            if parent is not None:
                parent.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        except OSError as error:
            raise GeneralError(f"could not create a simulation directory in "
                               f"{parent or tempfile.gettempdir()}: {error.strerror or error}") from error

    def archives_of(self, experiment_id: str, simulation_id: int) -> list[Path]:
        """The archives (logs, data) that runs of simulation `simulation_id` left for `experiment_id`."""
        found = []
        for folder in self.archive_folders(experiment_id):
            for path in sorted(folder.iterdir()):
                name = _ARCHIVE_NAME.fullmatch(path.name)
                if name is not None and int(name["id"]) == simulation_id and _is_real_file(path):
                    found.append(path)
        return found

    def clone(self, experiment_id: str, simulation_id: int) -> Path:
        """A fresh simulation directory holding a copy of the experiment, without NRP's exclusions.

        Symbolic links are copied as links, never followed, so nothing outside the experiment is read.
        """
        source = self.resolve(experiment_id)
        destination = self._new_dir(f"{SIMULATION_DIR_PREFIX}{simulation_id}.")
        try:
            shutil.copytree(source, destination, symlinks=True, ignore=_excluded, dirs_exist_ok=True)
        except (OSError, shutil.Error) as error:
            shutil.rmtree(destination, ignore_errors=True)
            raise GeneralError(f"could not copy the experiment {source} to {destination}: "
                               f"{_copy_failures(error)}") from error
        return destination

    def archive_logs(self, simulation_dir: Path | str, experiment_id: str, simulation_id: int, *,
                     stamp: str | None = None) -> Path | None:
        """Zip the simulation's logs into `<YYYY-mm-dd_HH-MM-SS>_simulation_<id>.log.zip` in the experiment.

        The logs are the `*.log` and `.*.log` files at the top of `simulation_dir` and every file
        below its `logs/` folder. `stamp` (from `archive_stamp()`) names the archive; it lets the
        logs and the data of one stop share their time. Returns None if there are no logs or
        `simulation_dir` is gone. The archive goes into `archive_folder(experiment_id)`. Raises
        `GeneralError` if writing fails.
        """
        simulation_dir = Path(simulation_dir)
        members = _log_files(simulation_dir)
        if not members:
            return None
        return self._write_archive(simulation_dir, members, experiment_id, simulation_id, ".log.zip", stamp)

    def archive_data(self, simulation_dir: Path | str, data_directories: Iterable[str], experiment_id: str,
                     simulation_id: int, *, stamp: str | None = None) -> Path | None:
        """Zip what the run wrote under `data_directories` into `<stamp>_simulation_<id>_data.zip`.

        `data_directories` are the datatransfer engines' `dataDirectory` values, relative to the
        simulation directory (the engines' working directory). The archive keeps the paths below
        the simulation directory (`data/<timestamp>-<pid>/<datapack>.data`). Files the experiment
        itself brought, unchanged, are left out, and so are symbolic links. A data directory that
        is absolute or leads out of the simulation directory (through '..' or a link) is not
        archived: a warning names it. Returns None when there is nothing to archive; raises like
        `archive_logs`.
        """
        simulation_dir = Path(simulation_dir)
        if not _is_real_dir(simulation_dir):
            return None
        members: list[PurePosixPath] = []
        for data_directory in dict.fromkeys(data_directories):
            folder = _data_folder(simulation_dir.resolve(), data_directory)
            if folder is not None:
                members.extend(_data_files(simulation_dir.resolve(), folder))
        if not members:
            return None
        try:
            source = self.resolve(experiment_id)
        except ExperimentNotFound:
            source = None  # nothing to compare with; the archive write below reports it
        members = [member for member in dict.fromkeys(members)
                   if source is None or not _same_file(simulation_dir / member, source / member)]
        if not members:
            return None
        return self._write_archive(simulation_dir, members, experiment_id, simulation_id, "_data.zip", stamp)

    @staticmethod
    def archive_stamp() -> str:
        """The local time that names the archives of one stop: `YYYY-mm-dd_HH-MM-SS`, as NRP's."""
        return datetime.now().strftime("%Y-%m-%d_%H-%M-%S")

    def archive_folder(self, experiment_id: str) -> Path:
        """Where the archives of a run of `experiment_id` go: its experiment folder, or, if that is
        gone, `nrp_runs/<experiment_id>` in the storage (made when needed)."""
        try:
            return self.resolve(experiment_id)
        except ExperimentNotFound:
            pass
        folder = self._runs_area(experiment_id)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise GeneralError(f"could not make {RUNS_AREA}/{experiment_id} in the experiment storage: "
                               f"{error.strerror}") from error
        log.warning("the experiment folder %s is gone; its run is archived into %s", experiment_id, folder)
        return folder

    def archive_folders(self, experiment_id: str) -> list[Path]:
        """The folders that may hold archives of runs of `experiment_id`: its own, and its place in
        the runs area; those that exist."""
        folders = []
        with contextlib.suppress(ExperimentNotFound, InvalidExperimentId):
            folders.append(self.resolve(experiment_id))
        with contextlib.suppress(InvalidExperimentId):
            runs = self._runs_area(experiment_id)
            if runs.is_dir():
                folders.append(runs)
        return folders

    def _runs_area(self, experiment_id: str) -> Path:
        problem = relative_path_problem(experiment_id)
        if problem is not None:
            raise InvalidExperimentId(experiment_id, problem)
        try:
            return resolve_inside(self.root, (RUNS_AREA, *PurePosixPath(experiment_id).parts), "the experiment storage")
        except PathEscape as escape:
            raise InvalidExperimentId(experiment_id, str(escape)) from None

    def _write_archive(self, simulation_dir: Path, members: list[PurePosixPath], experiment_id: str,
                       simulation_id: int, suffix: str, stamp: str | None) -> Path:
        folder = self.archive_folder(experiment_id)
        stamp = stamp or self.archive_stamp()
        archive = folder / f"{stamp}_simulation_{simulation_id}{suffix}"
        copy = 1
        while archive.exists():
            # Only a second archive of the same simulation within one second gets here; never overwrite.
            copy += 1
            archive = folder / f"{stamp}_simulation_{simulation_id}_{copy}{suffix}"
        # Written under another name first: a half-written archive must never look like a finished one.
        partial = archive.with_name(f".{archive.name}.partial")
        try:
            with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
                for member in members:
                    try:
                        zipped.write(simulation_dir / member, arcname=member.as_posix())
                    except FileNotFoundError:
                        log.info("%s vanished before it was archived", simulation_dir / member)
            os.replace(partial, archive)
        except OSError as error:
            # The cleanup must not hide why writing failed (the partial name may not even be a file).
            with contextlib.suppress(OSError):
                partial.unlink(missing_ok=True)
            raise GeneralError(f"could not write the archive {archive}: {error}") from error
        return archive

    def remove(self, simulation_dir: Path | str) -> None:
        """Delete a simulation directory made by `clone`; one that is already gone is fine.

        Refuses a directory whose name `clone` would not have chosen: a wrong path from a damaged
        record must not delete an experiment.
        """
        simulation_dir = Path(simulation_dir)
        if not simulation_dir.name.startswith(SIMULATION_DIR_PREFIX):
            raise GeneralError(f"refusing to remove {simulation_dir}: not a simulation directory")
        try:
            shutil.rmtree(simulation_dir)
        except FileNotFoundError:
            return
        except OSError as error:
            raise GeneralError(
                f"could not remove the simulation directory {simulation_dir}: {error}") from error


def _copy_failures(error: OSError | shutil.Error) -> str:
    """copytree gathers one (source, destination, reason) per file that failed; name each source."""
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        return "; ".join(f"{source}: {reason}" for source, _, reason in error.args[0])
    return str(error)


def _excluded(folder: str, names: list[str]) -> set[str]:
    """copytree's ignore callback: NRP's excluded files and folders, at every level, and special
    files (a copy would block reading a FIFO)."""
    excluded = set()
    for name in names:
        mode = _lstat_mode(os.path.join(folder, name))
        if stat.S_ISDIR(mode):
            if name in EXCLUDED_DIRS:
                excluded.add(name)
        elif not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            excluded.add(name)
        elif any(fnmatch.fnmatch(name, pattern) for pattern in EXCLUDED_FILES):
            excluded.add(name)
    return excluded


def _lstat_mode(path: str | Path) -> int:
    """The file's mode without following a link, so a link's target is never looked at; 0 if gone."""
    try:
        return os.lstat(path).st_mode
    except OSError:
        return 0


def _is_real_dir(path: str | Path) -> bool:
    return stat.S_ISDIR(_lstat_mode(path))


def _is_real_file(path: str | Path) -> bool:
    return stat.S_ISREG(_lstat_mode(path))


def _log_files(simulation_dir: Path) -> list[PurePosixPath]:
    """Paths relative to `simulation_dir` of the logs to archive; regular files only, so a link
    in a simulation directory cannot pull a file from elsewhere into the experiment."""
    try:
        entries = sorted(simulation_dir.iterdir()) if _is_real_dir(simulation_dir) else []
    except OSError:
        # Removed (or made unreadable) since the check: there is nothing left to archive.
        return []
    members = [PurePosixPath(entry.name) for entry in entries
               if fnmatch.fnmatch(entry.name, LOG_FILES) and _is_real_file(entry)]
    logs = simulation_dir / LOG_DIR
    if _is_real_dir(logs):
        for folder, dirnames, filenames in os.walk(logs):
            dirnames.sort()
            for name in sorted(filenames):
                path = Path(folder, name)
                if _is_real_file(path):
                    members.append(PurePosixPath(path.relative_to(simulation_dir).as_posix()))
    return members


def _data_folder(simulation_dir: Path, data_directory: str) -> Path | None:
    """The real folder of `data_directory` inside the (real) `simulation_dir`, or None (with a
    warning) if it leads out of it; None too if it is not there (the run wrote nothing)."""
    if not isinstance(data_directory, str) or not data_directory or "\0" in data_directory:
        log.warning("dataDirectory %r: not a folder name; nothing archived from it", data_directory)
        return None
    if os.path.isabs(data_directory):
        log.warning("dataDirectory %r is outside the simulation directory (an absolute path); "
                    "its files stay where they are", data_directory)
        return None
    try:
        folder = resolve_inside(simulation_dir, PurePosixPath(data_directory).parts,
                                "the simulation directory")
    except PathEscape as escape:
        log.warning("dataDirectory %r not archived: %s", data_directory, escape)
        return None
    return folder if _is_real_dir(folder) else None


def _data_files(simulation_dir: Path, folder: Path) -> list[PurePosixPath]:
    """Regular files below `folder`, relative to `simulation_dir`; links are reported, not followed."""
    members = []
    for current, dirnames, filenames in os.walk(folder):
        dirnames.sort()
        for name in [*dirnames, *filenames]:
            path = Path(current, name)
            if os.path.islink(path):
                log.warning("%s not archived: a symbolic link", path)
        for name in sorted(filenames):
            path = Path(current, name)
            if _is_real_file(path):
                members.append(PurePosixPath(path.relative_to(simulation_dir).as_posix()))
    return members


def _same_file(copy: Path, original: Path) -> bool:
    """True if `copy` is still the file clone() copied from `original` (copy2 keeps size and mtime)."""
    try:
        mine, theirs = os.lstat(copy), os.lstat(original)
    except OSError:
        return False
    return (stat.S_ISREG(theirs.st_mode) and mine.st_size == theirs.st_size
            and mine.st_mtime_ns == theirs.st_mtime_ns)
