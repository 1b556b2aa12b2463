"""Where one datapack goes: a data file, an MQTT topic, or both."""

from __future__ import annotations

import logging
from pathlib import Path

from google.protobuf.message import Message

from engines.servers.datatransfer.file_format import DataFileFormat

log = logging.getLogger(__name__)


class FileSink:
    """Appends one datapack's lines to `<directory>/<name>.data`.

    After the n-th reset the lines go to `<name>-<n>.data`, so that each run of a reset simulation
    has a file of its own (nrp-core numbers every file, `<name>-0.data` included; the first file
    keeps the documented `<name>.data` here).
    """

    def __init__(self, directory: Path, name: str):
        self._directory = directory
        self._name = name
        self._resets = 0
        self._format = DataFileFormat()
        self._stream = None

    @property
    def path(self) -> Path:
        suffix = f"-{self._resets}" if self._resets else ""
        return self._directory / f"{self._name}{suffix}.data"

    def open(self) -> None:
        """Create the file now, so that a directory that cannot be written fails initialize."""
        self._directory.mkdir(parents=True, exist_ok=True)
        self._stream = open(self.path, "a", encoding="utf-8")

    def write(self, message: Message, sim_time_s: float) -> None:
        if self._stream is None:
            self.open()
        lines = self._format.lines(message, sim_time_s)
        self._stream.write("".join(line + "\n" for line in lines))
        # Readers (a plot, a test, `tail -f`) see each datapack as it arrives, as with nrp-core.
        self._stream.flush()

    def reset(self) -> None:
        self.close()
        self._resets += 1
        self._format = DataFileFormat()
        self.open()

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.close()
            except OSError as err:
                log.warning("closing %s failed: %s", self.path, err)
            self._stream = None


class NetworkSink:
    """One datapack's MQTT topic, and the type name of what is streamed on it."""

    def __init__(self, topic: str):
        self.topic = topic
        self.type = ""
