"""Fixtures shared by every test package."""

import os
import pathlib
import sys
import time
import uuid

import psutil
import pytest

from tests.experiment_folders import RUN_ARTEFACTS, copy_experiment_folder  # noqa: F401 (for the tests)

# jp_fetch, jp_serverapp, jp_server_config, ...: a real Jupyter server in the test process.
pytest_plugins = ["pytest_jupyter.jupyter_server"]

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPERIMENTS = REPO / "experiments"
BIN_DIR = pathlib.Path(sys.executable).parent

# Command-line words that identify processes of the simulation core.
CORE_PROCESS_MARKERS = ("NRPCoreSim", "nrp-python-json-engine", "nrp-python-grpc-engine", "nrp-py-sim-engine",
                         "nrp-nest-json-engine", "nrp-datatransfer-engine", "engines.servers")
# Set in the environment of a test; every process the test starts inherits it, which tells the
# test's own processes from those of tests running at the same time elsewhere.
TEST_MARKER_VARIABLE = "NRP_JUPYTER_TEST_MARKER"


def core_processes(marker: str) -> list[psutil.Process]:
    """Live simulation-core processes (NRPCoreSim, engines) whose environment carries `marker`."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        info = process.info
        if not info["cmdline"] or info["status"] == psutil.STATUS_ZOMBIE or process.pid == os.getpid():
            continue
        if not any(word in part for part in info["cmdline"] for word in CORE_PROCESS_MARKERS):
            continue
        try:
            if process.environ().get(TEST_MARKER_VARIABLE) == marker:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def assert_no_core_processes(marker: str, within_s: float = 3.0) -> None:
    deadline = time.monotonic() + within_s
    while True:
        left = core_processes(marker)
        if not left:
            return
        if time.monotonic() > deadline:
            names = [" ".join(p.info["cmdline"][:4]) for p in left]
            for process in left:
                process.kill()
            raise AssertionError(f"processes left running: {names}")
        time.sleep(0.05)


@pytest.fixture
def no_leftover_processes(monkeypatch):
    """Fails the test if an NRPCoreSim or engine process it started is still alive at its end."""
    marker = uuid.uuid4().hex
    monkeypatch.setenv(TEST_MARKER_VARIABLE, marker)
    yield marker
    assert_no_core_processes(marker)


@pytest.fixture
def core_env(no_leftover_processes):
    """Environment for running NRPCoreSim as a subprocess, with this interpreter's scripts first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One real `jupyter server` process with the extension for the whole session, serving a copy of
    experiments/ on its embedded broker (tests/live_server.py). Tests that use it leave nothing
    running: each test's simulations are stopped at its end by `live_server_quiet`."""
    from tests.live_server import LiveServer, experiments_root

    tmp_path = tmp_path_factory.mktemp("live_server")
    server = LiveServer(experiments_root(tmp_path / "root", EXPERIMENTS), tmp_path).start()
    yield server
    server.close()


@pytest.fixture
def live_server_quiet(live_server):
    """`live_server`, with whatever a test left running stopped after it."""
    yield live_server
    live_server.stop_all_simulations()


@pytest.fixture(scope="session")
def nrp_core_checkout() -> pathlib.Path:
    """An nrp-core checkout for the conformance tests: $NRP_CORE_CHECKOUT, else ../shared/nrp-core
    beside the repository; skips saying which, when there is none."""
    configured = os.environ.get("NRP_CORE_CHECKOUT")
    path = pathlib.Path(configured) if configured else REPO.parent / "shared" / "nrp-core"
    if not (path / "examples").is_dir():
        source = "$NRP_CORE_CHECKOUT" if configured else "the default"
        pytest.skip(f"no nrp-core checkout at {path} ({source}); set NRP_CORE_CHECKOUT to one")
    return path
