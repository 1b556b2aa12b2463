"""scripts/conformance/server_suite.py on a stand-in checkout: a server.py shaped as nrp-core's
(unittest cases driving the real nrp-client, `os.chdir(sys.argv[2])` at import, a fixed address)
whose tests pass, fail, err, leave a process behind or hang. Checks the per-test results and that
nothing is left: no process, no listener, no temporary folder."""

import pathlib
import shutil
import socket
import sys
import textwrap

import pytest

from tests.interop.conftest import EXPERIMENTS, REPO_ROOT
from tests.ports import free_port, port_is_free

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from conformance import server_suite  # noqa: E402

pytestmark = [pytest.mark.timeout(180), pytest.mark.real_client]

SUITE = '''
import os
import subprocess
import sys
import time
import unittest

from nrp_client import NrpCore


class TestStandIn(unittest.TestCase):
    def setUp(self):
        self.nrp_core = NrpCore("localhost:{port}", config_file="simulation_config.json")

    def tearDown(self):
        if hasattr(self, "nrp_core"):
            del self.nrp_core

    def test_a_passes(self):
        self.nrp_core.initialize()
        self.assertEqual(self.nrp_core.current_state(), "Initialized")

    def test_b_fails(self):
        self.assertEqual(self.nrp_core.current_state(), "Running")

    def test_c_errs(self):
        self.nrp_core.run_loop(1)

    def test_d_leaves_a_process(self):
        subprocess.Popen(["sleep", "600"], start_new_session=True)

    def test_e_hangs(self):
        {hang}


os.chdir(sys.argv[2])
'''


def checkout(tmp_path: pathlib.Path, port: int, hang: bool) -> pathlib.Path:
    root = tmp_path / "nrp-core"
    tests = root / "nrp_simulation" / "tests"
    tests.mkdir(parents=True)
    body = "time.sleep(600)" if hang else "pass"
    (tests / "server.py").write_text(textwrap.dedent(SUITE).format(port=port, hang=body))
    shutil.copytree(EXPERIMENTS / "status_function", root / "examples" / "status_function_test")
    return root


@pytest.fixture
def workdir(tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    return folder


def test_results_per_test_and_nothing_left(real_client_python, tmp_path, workdir):
    port = free_port()
    run = server_suite.run_server_suite(checkout(tmp_path, port, hang=False), repo=REPO_ROOT, workdir=workdir)

    results = {result.name: result for result in run.results}
    assert list(results) == ["test_a_passes", "test_b_fails", "test_c_errs", "test_d_leaves_a_process",
                             "test_e_hangs"]
    assert results["test_a_passes"].passed and results["test_a_passes"].reason == ""
    assert not results["test_b_fails"].passed
    assert results["test_b_fails"].reason.startswith("server.py line ")
    assert results["test_b_fails"].reason.endswith("AssertionError: 'Created' != 'Running'\n- Created\n+ Running")
    assert "Traceback" in results["test_b_fails"].details
    assert results["test_c_errs"].reason.endswith("ConnectionError: Can't process request")
    assert results["test_d_leaves_a_process"].passed and results["test_e_hangs"].passed
    assert run.passed == 3
    # The stray `sleep` carried the run's marker: found, reported and killed.
    assert len(run.leftovers) == 1 and "sleep 600" in run.leftovers[0]
    assert port_is_free(port)
    assert list(workdir.iterdir()) == []


def test_a_suite_out_of_time_reports_the_tests_it_did_not_finish(real_client_python, tmp_path, workdir):
    port = free_port()
    run = server_suite.run_server_suite(checkout(tmp_path, port, hang=True), repo=REPO_ROOT, workdir=workdir,
                                        timeout_s=40)

    results = {result.name: result for result in run.results}
    assert results["test_a_passes"].passed
    assert not results["test_e_hangs"].passed
    assert results["test_e_hangs"].reason == "not finished: the suite was stopped after 40 s (while this test ran)"
    assert port_is_free(port)
    assert list(workdir.iterdir()) == []


def test_a_taken_port_is_reported_before_anything_starts(real_client_python, tmp_path, workdir):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(server_suite.SuiteUnavailable, match=f"port\\(s\\) {port}"):
            server_suite.run_server_suite(checkout(tmp_path, port, hang=False), repo=REPO_ROOT, workdir=workdir)
    assert list(workdir.iterdir()) == []


def test_a_checkout_without_the_suite_is_unavailable(tmp_path):
    with pytest.raises(server_suite.SuiteUnavailable, match="server suite is missing"):
        server_suite.run_server_suite(tmp_path, repo=REPO_ROOT)
