"""Start the stack's services in sessions of their own, remember them by pid file, and end exactly those.

Each service runs in its own process group (start_new_session), so stopping it ends what it started
(npm's and ts-node's children, a kernel's NRPCoreSim and engines) and nothing else on the machine.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Service:
    name: str
    argv: list[str]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    # Ready once this TCP port accepts connections on loopback.
    port: int
    # If set, ready only once this URL answers (any HTTP status).
    ready_url: str | None = None


class ServiceFailed(RuntimeError):
    pass


def pid_file(run: Path, name: str) -> Path:
    return run / f"{name}.pid"


def log_file(run: Path, name: str) -> Path:
    return run / f"{name}.log"


def start(service: Service, run: Path, timeout_s: float = 120.0) -> None:
    if is_running(run, service.name):
        raise ServiceFailed(f"{service.name} is already running (pid file {pid_file(run, service.name)})")
    if port_open(service.port):
        raise ServiceFailed(f"{service.name}: port {service.port} is taken by another program")
    log = log_file(run, service.name).open("ab")
    process = subprocess.Popen(
        service.argv, cwd=service.cwd, env={**os.environ, **service.env},
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    pid_file(run, service.name).write_text(str(process.pid))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceFailed(f"{service.name} exited with {process.returncode}; see {log_file(run, service.name)}")
        if port_open(service.port) and (service.ready_url is None or url_answers(service.ready_url)):
            return
        time.sleep(0.2)
    raise ServiceFailed(f"{service.name} not ready on port {service.port} within {timeout_s:.0f} s")


def stop(run: Path, name: str, grace_s: float = 10.0) -> bool:
    """End the service's process group: SIGTERM, then SIGKILL after grace_s. True if it was running."""
    path = pid_file(run, name)
    if not path.exists():
        return False
    pid = int(path.read_text())
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        path.unlink()
        return False
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and group_alive(pid):
        reap(pid)
        time.sleep(0.1)
    if group_alive(pid):
        os.killpg(pid, signal.SIGKILL)
        reap(pid)
    path.unlink()
    return True


def is_running(run: Path, name: str) -> bool:
    path = pid_file(run, name)
    return path.exists() and group_alive(int(path.read_text()))


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def url_answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def run_once(argv: list[str], cwd: Path, env: dict[str, str], log: Path, timeout_s: float) -> int:
    """A build or set-up step, its output appended to log; its return code."""
    with log.open("ab") as out:
        return subprocess.run(argv, cwd=cwd, env={**os.environ, **env}, stdout=out,
                              stderr=subprocess.STDOUT, timeout=timeout_s, check=False).returncode
