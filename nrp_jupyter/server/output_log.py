"""The simulation log of an experiment kernel's output (the main script's prints, tracebacks), capped.

A script that prints in a loop must neither fill the disk nor make the archive of its run huge: past
`limit_bytes` the output is dropped, and the log says so where it stops and, at its end, how much
was dropped. The file stays open while the kernel runs: reopening it for each of thousands of
stream messages a second would cost the server's event loop more than the writing itself.
"""

from __future__ import annotations

import logging
import pathlib

log = logging.getLogger(__name__)


class OutputLog:
    def __init__(self, path: pathlib.Path, limit_bytes: int):
        self.path = path
        self.limit_bytes = limit_bytes
        self.written = 0
        self.dropped = 0
        self._file = None
        self._failed = False

    def write(self, text: str) -> None:
        if not text or self._failed:
            return
        data = text.encode("utf-8", errors="replace")
        room = self.limit_bytes - self.written
        if room <= 0:
            self.dropped += len(data)
            return
        kept = data[:room]
        self.dropped += len(data) - len(kept)
        self._append(kept)
        self.written += len(kept)
        if self.dropped:
            self._append(f"\n[nrp-jupyter] output beyond {self.limit_bytes} bytes is not kept\n".encode())

    def close(self) -> None:
        if self.dropped:
            self._append(f"[nrp-jupyter] {self.dropped} bytes of output were dropped\n".encode())
        if self._file is not None:
            self._file.close()
            self._file = None

    def _append(self, data: bytes) -> None:
        try:
            if self._file is None:
                self._file = open(self.path, "ab")  # noqa: SIM115 (kept open across writes, closed in close())
            self._file.write(data)
            self._file.flush()
        except OSError as error:
            # The simulation goes on without its output log; say so once.
            self._failed = True
            log.warning("the output log %s cannot be written (%s); output is not kept", self.path, error)
