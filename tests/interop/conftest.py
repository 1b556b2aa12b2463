"""Fixtures for checking interoperation with the real PyPI nrp-client 1.4.0.

The real client lives in its own virtual environment (scripts/setup-real-client.sh), because it
needs protobuf 5 and its nrp_protobuf modules clash with ours in one descriptor pool. Tests talk
to it through subprocesses only.
"""

import os
import pathlib
import subprocess
import uuid

import psutil
import pytest

from tests.conftest import copy_experiment_folder
from tests.ports import free_port, port_is_free
from tests.waiting import eventually

REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
REAL_VENV = REPO_ROOT / ".venv-nrp-client"
EXPERIMENTS = REPO_ROOT / "experiments"
# Set in the environment of every process a test starts; NRPCoreSim and its engines inherit it,
# which finds them even after they were orphaned.
MARK_VARIABLE = "NRP_INTEROP_TEST_MARK"


@pytest.fixture(scope="session")
def real_client_python() -> str:
    """Python of the real client's venv; skipped when missing, a failure when CI is set."""
    python = REAL_VENV / "bin" / "python"
    reason = None
    if not python.exists():
        reason = f"{REAL_VENV} does not exist; create it with scripts/setup-real-client.sh"
    else:
        # From /, so that the repo's own nrp_protobuf/ cannot shadow the wheel's.
        probe = subprocess.run([str(python), "-c", "import nrp_client"], cwd="/", capture_output=True,
                               text=True, timeout=60)
        if probe.returncode != 0:
            reason = (f"'import nrp_client' fails in {REAL_VENV} (rerun scripts/setup-real-client.sh):\n"
                      + probe.stderr[-2000:])
    if reason is None:
        return str(python)
    if os.environ.get("CI"):
        pytest.fail(f"the real nrp-client is required on CI: {reason}", pytrace=False)
    pytest.skip(reason)


class ServerUnderTest:
    """Where the test's NRPCoreSim listens and which experiment copy it runs."""

    def __init__(self, port: int, folder: pathlib.Path, mark: str):
        self.port = port
        self.address = f"localhost:{port}"
        self.folder = folder
        self.mark = mark

    def experiment(self, name: str) -> str:
        """A private copy of experiments/<name>, so logs land in tmp and cmdlines name the test."""
        source = EXPERIMENTS / name
        if not source.is_dir():
            pytest.skip(f"experiments/{name} does not exist yet")
        target = self.folder / name
        if not target.exists():
            copy_experiment_folder(source, target)
        return str(target)


def _started_by(me: psutil.Process, server: ServerUnderTest, before: set[int]) -> list[psutil.Process]:
    # Children older than the test (a session-wide Jupyter server, say) are not the test's.
    found = {p.pid: p for p in me.children(recursive=True) if p.pid not in before}
    folder = str(server.folder) + os.sep  # with the separator: test_x1 is not inside test_x10
    for process in psutil.process_iter():
        if process.pid == me.pid or process.pid in found:
            continue
        try:
            if (any(folder in arg + os.sep for arg in process.cmdline())
                    or (process.cwd() + os.sep).startswith(folder)
                    or process.environ().get(MARK_VARIABLE) == server.mark):
                found[process.pid] = process
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    alive = []
    for process in found.values():
        try:
            if process.status() != psutil.STATUS_ZOMBIE:
                alive.append(process)
        except psutil.NoSuchProcess:
            continue
    return alive


@pytest.fixture
def nrp_server(tmp_path, monkeypatch):
    """A free port and experiment folder for one test; afterwards, asserts that no NRPCoreSim or
    engine process the test started is alive and that the port is free again."""
    mark = uuid.uuid4().hex
    # Our client's NRPCoreSim inherits this process's environment.
    monkeypatch.setenv(MARK_VARIABLE, mark)
    server = ServerUnderTest(free_port(), tmp_path, mark)
    me = psutil.Process()
    before = {child.pid for child in me.children(recursive=True)}
    yield server

    psutil.wait_procs(_started_by(me, server, before), timeout=10)
    described = []
    for process in _started_by(me, server, before):
        try:
            described.append(f"{process.pid}: {' '.join(process.cmdline())}")
            process.kill()
        except psutil.NoSuchProcess:
            continue
    assert not described, "processes left running (killed now):\n" + "\n".join(described)
    eventually(lambda: port_is_free(server.port), 5, f"port {server.port} is still taken after the test",
               every_s=0.1)
