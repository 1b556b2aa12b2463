"""Fixtures shared by every test package."""

import os
import pathlib
import sys
import time

import psutil
import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPERIMENTS = REPO / "experiments"
BIN_DIR = pathlib.Path(sys.executable).parent

# Command-line words that identify processes of the simulation core.
CORE_PROCESS_MARKERS = ("NRPCoreSim", "nrp-python-json-engine", "nrp-python-grpc-engine", "engines.servers")


def core_processes(started_after: float) -> list[psutil.Process]:
    """Simulation-core processes (NRPCoreSim, engines) started after the given time."""
    found = []
    for process in psutil.process_iter(["cmdline", "create_time", "status"]):
        info = process.info
        if not info["cmdline"] or info["create_time"] < started_after - 0.01:
            continue
        if info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if any(marker in word for word in info["cmdline"] for marker in CORE_PROCESS_MARKERS):
            if process.pid != os.getpid():
                found.append(process)
    return found


def assert_no_core_processes(started_after: float, within_s: float = 3.0) -> None:
    deadline = time.monotonic() + within_s
    while True:
        left = core_processes(started_after)
        if not left:
            return
        if time.monotonic() > deadline:
            names = [" ".join(p.info["cmdline"][:4]) for p in left]
            for process in left:
                process.kill()
            raise AssertionError(f"processes left running: {names}")
        time.sleep(0.05)


@pytest.fixture
def no_leftover_processes():
    """Fails the test if an NRPCoreSim or engine process it started is still alive at its end."""
    started = time.time()
    yield started
    assert_no_core_processes(started)


@pytest.fixture
def core_env():
    """Environment for running NRPCoreSim as a subprocess, with this interpreter's scripts first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env
