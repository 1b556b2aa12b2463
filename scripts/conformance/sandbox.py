"""Where a check runs: its own temporary folder and environment, and every process it starts.

Each check gets a Sandbox. Processes start in a session of their own and inherit a marker variable,
so that everything a check started (NRPCoreSim, its engines, a client, processes they orphaned) can
be found and ended: at the end of the check, on its timeout, and when the run is interrupted.
Children also get TMPDIR inside the check's folder, so their temporary files go when it goes.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass

import psutil

MARK_VARIABLE = "NRP_CONFORMANCE_MARK"
# A process asked to end gets this long before it is killed.
TERMINATE_GRACE_S = 3.0


class Cancelled(Exception):
    """The run was interrupted while the check's process ran."""


@dataclass(frozen=True)
class Completed:
    returncode: int | None
    output: str
    timed_out: bool

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def marked_processes(marker: str) -> list[psutil.Process]:
    """Live processes whose environment carries `marker`."""
    found = []
    me = os.getpid()
    for process in psutil.process_iter(["status"]):
        if process.pid == me or process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        try:
            if process.environ().get(MARK_VARIABLE) == marker:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


def describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline()[:4])}"
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return str(process.pid)


class Sandbox:
    """One check's folder, environment and processes."""

    def __init__(self, root: pathlib.Path, name: str, repo: pathlib.Path, cancelled: threading.Event):
        self.folder = pathlib.Path(root) / name
        self.folder.mkdir(parents=True)
        self.repo = pathlib.Path(repo)
        self.cancelled = cancelled
        # Set when the check overran its own time limit; its processes are ended like on Ctrl-C.
        self.expired = threading.Event()
        self.marker = uuid.uuid4().hex
        self._popens: list[subprocess.Popen] = []
        self._lock = threading.Lock()
        tmp = self.folder / "tmp"
        tmp.mkdir()
        env = dict(os.environ)
        env.pop("VIRTUAL_ENV", None)
        env.update({
            MARK_VARIABLE: self.marker,
            "TMPDIR": str(tmp),
            # Our NRPCoreSim and engine executables come first, as nrp-core's would on its PATH.
            "PATH": f"{self.repo / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            "PYTHONUNBUFFERED": "1",
            # The checkout and its copies stay as they are: no __pycache__ next to their files.
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
        })
        self.env = env

    @property
    def venv_python(self) -> str:
        return str(self.repo / ".venv" / "bin" / "python")

    def copy(self, source: pathlib.Path, name: str | None = None) -> pathlib.Path:
        target = self.folder / (name or pathlib.Path(source).name)
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"), symlinks=True)
        return target

    def run(self, command: list[str], cwd: pathlib.Path | str, timeout_s: float,
            env: dict | None = None) -> Completed:
        """Runs `command` to its end (or `timeout_s`, or the run's interruption) and returns its
        output. Output goes to a file, not a pipe: an orphaned grandchild holding the pipe open
        would otherwise keep us waiting after the command itself ended."""
        if self.cancelled.is_set() or self.expired.is_set():
            raise Cancelled()
        log_path = self.folder / f"output-{len(self._popens)}.txt"
        with open(log_path, "wb") as output:
            process = subprocess.Popen(command, cwd=cwd, env=env or self.env, stdin=subprocess.DEVNULL,
                                       stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        with self._lock:
            self._popens.append(process)
        deadline = time.monotonic() + timeout_s
        timed_out = False
        while process.poll() is None:
            if self.cancelled.is_set() or self.expired.is_set():
                self._end_group(process)
                raise Cancelled()
            if time.monotonic() > deadline:
                timed_out = True
                self._end_group(process)
                break
            try:
                process.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
        text = log_path.read_text(errors="replace")
        return Completed(process.returncode, text, timed_out)

    def _end_group(self, process: subprocess.Popen) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except (ProcessLookupError, PermissionError):
                return
            try:
                process.wait(timeout=TERMINATE_GRACE_S)
                return
            except subprocess.TimeoutExpired:
                continue

    def leftovers(self, grace_s: float = 5.0) -> list[str]:
        """Processes of this check still alive `grace_s` after its commands ended (an engine that
        outlives its NRPCoreSim, say); they are killed, and their descriptions returned."""
        deadline = time.monotonic() + grace_s
        while (left := marked_processes(self.marker)) and time.monotonic() < deadline:
            time.sleep(0.1)
        described = [describe(process) for process in left]
        self.kill_all()
        return described

    def kill_all(self) -> None:
        """Ends every process of the check, now (the run's interruption, or the check's end)."""
        with self._lock:
            popens = list(self._popens)
        for process in popens:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
        for process in marked_processes(self.marker):
            try:
                process.kill()
            except psutil.NoSuchProcess:
                pass
        for process in popens:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
