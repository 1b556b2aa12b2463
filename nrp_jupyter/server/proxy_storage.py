"""Experiments in the NRP proxy's storage (NRP mode): fetched into a simulation directory with the
caller's token at launch, and the run's archives written back at stop, as NRP's backend does
(its storage client's `clone_all_experiment_files`, and `_save_log_to_user_storage`).

The proxy's names are not trusted more than a REST client's: every name of a listing must be one
plain path segment (no '/', '\\', NUL, '.', '..' or empty name), or nothing is launched; files are
streamed to disk, and an experiment past `max_bytes`, `max_entries` or `max_depth` is refused. The
destination is a fresh directory of the server's, so with one-segment names nothing is written
outside it. NRP's exclusions apply at every level, as in local storage (storage.EXCLUDED_*).
"""

from __future__ import annotations

import fnmatch
import logging
import pathlib
from dataclasses import dataclass

from .errors import ExperimentTooLarge, GeneralError, InvalidExperimentId, ProxyFailed, shown
from .limits import MAX_SEGMENT_LENGTH
from .nrp_proxy import LimitReached, ProxyClient
from .storage import EXCLUDED_DIRS, EXCLUDED_FILES, relative_path_problem

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchLimits:
    max_bytes: int = 1024 ** 3
    max_entries: int = 10_000
    max_depth: int = 16


def name_problem(name: object) -> str | None:
    """What makes `name` (one entry of a listing) unusable as a file name, or None."""
    if not isinstance(name, str) or not name:
        return "is not a file name"
    if name in (".", ".."):
        return "would lead out of its folder"
    if "/" in name or "\\" in name or "\0" in name:
        return "is a path, not a file name"
    if len(name) > MAX_SEGMENT_LENGTH:
        return f"is longer than {MAX_SEGMENT_LENGTH} characters"
    return None


class ProxyExperiments:
    """The experiments of the proxy at `client.url`."""

    def __init__(self, client: ProxyClient, limits: FetchLimits = FetchLimits()):
        self.client = client
        self.limits = limits

    @property
    def url(self) -> str:
        return self.client.url

    async def fetch(self, experiment_id: str, token: str, destination: pathlib.Path) -> None:
        """Writes the files of `experiment_id` into the empty folder `destination`."""
        problem = relative_path_problem(experiment_id)
        if problem is not None:
            raise InvalidExperimentId(experiment_id, problem)
        budget = _Budget(self.limits, experiment_id)
        # (proxy folder id, local folder, depth); the experiment's own folder is listed by its id.
        pending = [(experiment_id, destination, 0)]
        while pending:
            folder, local, depth = pending.pop()
            for entry in await self.client.list_folder(experiment_id, folder, token):
                problem = name_problem(entry.name)
                if problem is not None:
                    raise ProxyFailed(self.url, f"listed the name {shown(entry.name)} in the experiment "
                                                f"'{experiment_id}', which {problem}; nothing was launched")
                budget.count_entry()
                if entry.kind == "folder":
                    if entry.name in EXCLUDED_DIRS:
                        continue
                    budget.check_depth(depth + 1)
                    _make_folder(self.url, local / entry.name, entry.name)
                    pending.append((entry.uuid or f"{folder}/{entry.name}", local / entry.name, depth + 1))
                elif not any(fnmatch.fnmatch(entry.name, pattern) for pattern in EXCLUDED_FILES):
                    budget.count_bytes(await self._download(experiment_id, folder, entry.name, token,
                                                            local / entry.name, budget.remaining()))

    async def _download(self, experiment_id: str, folder: str, name: str, token: str, target: pathlib.Path,
                        limit: int) -> int:
        try:
            return await self.client.download(experiment_id, folder, name, token, target, limit)
        except LimitReached:
            raise ExperimentTooLarge(experiment_id, f"its files are more than {self.limits.max_bytes} bytes "
                                                    f"(NrpJupyterApp.nrp_experiment_max_bytes)") from None
        except FileExistsError:
            raise ProxyFailed(self.url, f"listed '{name}' twice in the experiment '{experiment_id}'") from None
        except OSError as error:
            raise GeneralError(f"could not write '{name}' of the experiment '{experiment_id}' into the "
                               f"simulation directory: {error.strerror or error}") from error

    async def upload(self, experiment_id: str, archives: list[pathlib.Path], token: str) -> None:
        """Writes each archive into the experiment's folder in the proxy's storage, under its name."""
        for archive in archives:
            await self.client.upload(experiment_id, archive.name, archive, token)
            log.info("%s uploaded to the experiment '%s' at the NRP proxy", archive.name, experiment_id)


class _Budget:
    """What is left of the limits while one experiment is fetched."""

    def __init__(self, limits: FetchLimits, experiment_id: str):
        self.limits = limits
        self.experiment_id = experiment_id
        self.bytes = 0
        self.entries = 0

    def remaining(self) -> int:
        return self.limits.max_bytes - self.bytes

    def count_bytes(self, size: int) -> None:
        self.bytes += size

    def count_entry(self) -> None:
        self.entries += 1
        if self.entries > self.limits.max_entries:
            raise ExperimentTooLarge(self.experiment_id, f"it has more than {self.limits.max_entries} files "
                                                         f"and folders")

    def check_depth(self, depth: int) -> None:
        if depth > self.limits.max_depth:
            raise ExperimentTooLarge(self.experiment_id, f"its folders are nested more than "
                                                         f"{self.limits.max_depth} deep")


def _make_folder(proxy: str, folder: pathlib.Path, name: str) -> None:
    try:
        folder.mkdir()
    except FileExistsError:
        raise ProxyFailed(proxy, f"listed '{name}' twice") from None
    except OSError as error:
        raise GeneralError(f"could not make the folder '{name}' in the simulation directory: "
                           f"{error.strerror or error}") from error
