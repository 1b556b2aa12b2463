"""A simulation's logs, for `GET /simulation/<id>/logs`: the live files while it runs, its newest
archive once it has stopped (in the experiment's folder, or in the storage's runs area when the
experiment folder was gone at the stop)."""

from __future__ import annotations

import pathlib
import zipfile

# A log is returned whole up to this size, else its end: clients poll it like a tail.
MAX_BYTES_PER_FILE = 256 * 1024


def read_logs(simulation_dir: str | None, archive_folders: list[pathlib.Path], simulation_id: int) -> list[dict]:
    if simulation_dir and pathlib.Path(simulation_dir).is_dir():
        files = sorted(pathlib.Path(simulation_dir).glob("*.log")) + sorted(pathlib.Path(simulation_dir).glob(".*.log"))
        return [{"name": path.name, "content": _tail(path.read_bytes())} for path in files if path.is_file()]
    archives = sorted((path for folder in archive_folders
                       for path in folder.glob(f"*_simulation_{simulation_id}.log.zip")), key=lambda path: path.name)
    if not archives:
        return []
    with zipfile.ZipFile(archives[-1]) as archive:
        return [{"name": name, "content": _tail(archive.read(name))} for name in sorted(archive.namelist())]


def _tail(data: bytes) -> str:
    return data[-MAX_BYTES_PER_FILE:].decode("utf-8", errors="replace")
