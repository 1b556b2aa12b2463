"""nrp-core's own engine servers and their unit tests, run from an nrp-core 1.4 checkout against
this project: its python_json/python_grpc engine-server tests unchanged with our nrp_core modules,
and its server programs under our NRPCoreSim (scripts/conformance/real_engines.py).

The checkout's path comes from $NRP_CORE_CHECKOUT; without it these tests skip, except the one
that checks the overlay on a stand-in engine_server folder.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from scripts.conformance.real_engines import OVERLAY, run_real_engines

CHECKOUT = os.environ.get("NRP_CORE_CHECKOUT")
needs_checkout = pytest.mark.skipif(not CHECKOUT, reason="set NRP_CORE_CHECKOUT to an nrp-core 1.4 checkout")


@pytest.mark.timeout(60)
def test_overlay_puts_the_engine_server_folder_first_in_the_package(tmp_path):
    folder = tmp_path / "engine_server"
    folder.mkdir()
    (folder / "engine_script.py").write_text("class EngineScript:\n    origin = 'overlay'\n")
    (folder / "server_callbacks.py").write_text("from nrp_core.engines.python_json import EngineScript\n")
    program = folder / "server.py"
    program.write_text(
        "import sys\n"
        "import nrp_core.engines.python_json.server_callbacks as callbacks\n"
        "from nrp_core.data.nrp_json import JsonDataPack\n"
        "print(callbacks.EngineScript.origin, JsonDataPack.__module__, sys.argv[1:])\n")
    result = subprocess.run([sys.executable, str(OVERLAY), str(folder), "nrp_core.engines.python_json", str(program),
                             "--engine=e1"], capture_output=True, text=True, timeout=50, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["overlay", "engines.datapacks", "['--engine=e1']"]


@needs_checkout
@pytest.mark.timeout(180)
@pytest.mark.parametrize("engine_folder, test_files", [
    ("nrp_python_json_engine", ["test_server_callbacks.py", "test_engine_script.py"]),
    ("nrp_python_grpc_engine", ["test_grpc_server_callbacks.py"]),
])
def test_nrp_cores_engine_server_unit_tests_pass_unchanged(tmp_path, engine_folder, test_files):
    # Run as nrp-core's CMake runs them: py.test on each file, from a copy of the tests folder.
    tests = tmp_path / "tests"
    shutil.copytree(pathlib.Path(CHECKOUT) / engine_folder / "tests", tests)
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *test_files],
                            cwd=tests, capture_output=True, text=True, timeout=170)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and "failed" not in result.stdout


@needs_checkout
@pytest.mark.timeout(200)
@pytest.mark.parametrize("started_by", ["launcher", "hand"])
@pytest.mark.parametrize("example, config_file", [
    ("tf_exchange", "simulation_config.json"),
    ("tf_exchange", "simulation_config_grpc.json"),
    ("generic_proto_test", "simulation_config.json"),
])
def test_nrp_cores_engine_servers_run_its_examples_under_our_orchestrator(tmp_path, example, config_file,
                                                                          started_by):
    result = run_real_engines(CHECKOUT, pathlib.Path(CHECKOUT) / "examples" / example, config_file,
                              started_by=started_by, workdir=tmp_path, timeout_s=150)
    assert result.passed, f"{result.reason}\n{result.log[-6000:]}"
