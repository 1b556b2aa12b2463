"""The conformance runner's pieces on nrp-core's CI part (the `nrp_core_checkout` fixture), and on
small made-up checkouts for what a real checkout cannot show (a failing example, scope rules)."""

import io
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import threading

import psutil
import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from conformance.checks import Check, Outcome, Status  # noqa: E402
from conformance.examples import find_configs  # noqa: E402
from conformance.runner import Run, build_checks, summary  # noqa: E402
from conformance.simulations import client_check, standalone_check  # noqa: E402

from tests.waiting import eventually

RUNNER = REPO / "scripts" / "nrp-core-conformance"
LINE = re.compile(r"^(PASS|FAIL|SKIP) (\S+ \S+) \((\d+\.\d)s\)(: .*)?$")


def config_named(checkout, label):
    return next(config for config in find_configs(checkout) if config.label == label)


def run_checks(checks, jobs=1):
    out = io.StringIO()
    results = Run(checks, REPO, jobs=jobs, out=out).execute()
    return results, out.getvalue()


def write_checkout(root: pathlib.Path, examples: dict) -> pathlib.Path:
    """A made-up checkout: {"examples/<name>/<file>": text or dict (written as JSON)}."""
    for relative, content in examples.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content if isinstance(content, str) else json.dumps(content))
    return root


def python_json_config(name="failing", **extra):
    return {"SimulationName": name, "SimulationTimeout": 0.1,
            "EngineConfigs": [{"EngineType": "python_json", "EngineName": "engine", "PythonFileName": "engine.py",
                               **extra}]}


def test_checkout_configs_in_scope_are_the_five_examples_and_docker_configs_are_not(nrp_core_checkout):
    configs = find_configs(nrp_core_checkout)
    in_scope = {config.label for config in configs if not config.out_of_scope}
    out_of_scope = {config.label: config.out_of_scope for config in configs if config.out_of_scope}

    assert {"examples/tf_exchange/simulation_config.json", "examples/tf_exchange/simulation_config_grpc.json",
            "examples/generic_proto_test/simulation_config.json", "examples/nest_simple/simulation_config.json",
            "examples/pysim_examples/mujoco_control/simulation_config.json",
            "examples/status_function_test/simulation_config_done_flag.json"} <= in_scope
    assert "docker" in out_of_scope["examples/tf_exchange/simulation_config_docker.json"]
    assert "docker" in out_of_scope["examples/nest_simple/simulation_config_docker.json"]


def test_checks_that_name_one_grpc_address_share_a_resource(nrp_core_checkout):
    grpc = standalone_check(config_named(nrp_core_checkout, "examples/tf_exchange/simulation_config_grpc.json"))
    proto = standalone_check(config_named(nrp_core_checkout, "examples/generic_proto_test/simulation_config.json"))
    json_engines = standalone_check(config_named(nrp_core_checkout, "examples/tf_exchange/simulation_config.json"))

    # Both name localhost:1234 for a gRPC engine; JSON engines' addresses are only wishes in
    # nrp-core too (they register the one they bind).
    assert grpc.resources & proto.resources
    assert not json_engines.resources


def test_scope_names_the_reason_for_each_kind_of_config_left_out(tmp_path):
    checkout = write_checkout(tmp_path, {
        "examples/gazebo/simulation_config.json": {"SimulationName": "g", "EngineConfigs": [
            {"EngineType": "gazebo_grpc", "EngineName": "gazebo"}]},
        "examples/opensim/simulation_config.json": {"SimulationName": "o", "EngineConfigs": [
            {"EngineType": "py_sim", "EngineName": "arm", "Simulator": "Opensim", "PythonFileName": "x.py"}]},
        "examples/loop/simulation_config.json": {"SimulationName": "l", "SimulationLoop": "EventLoop",
                                                 "EngineConfigs": []},
        "examples/docker/simulation_config.json": python_json_config(
            EngineLaunchCommand={"LaunchType": "DockerLauncher"}),
        "examples/by_hand/simulation_config.json": python_json_config(
            EngineLaunchCommand={"LaunchType": "EmptyLaunchCommand"}, ServerAddress="localhost:9002"),
        "examples/needs/simulation_config.json": python_json_config(),
        "examples/needs/engine.py": "import helper\n",
        "examples/needs/helper.py": "import surely_not_installed_anywhere\n",
        "examples/fine/simulation_config.json": python_json_config(),
        "examples/fine/engine.py": "import json\nfrom nrp_core.engines.python_json import EngineScript\n",
        "examples/fine/engine_config_only.json": {"Timestep": 1},
    })
    scope = {config.example.name: config.out_of_scope for config in find_configs(checkout)}

    assert set(scope) == {"gazebo", "opensim", "loop", "docker", "by_hand", "needs", "fine"}
    assert "Gazebo" in scope["gazebo"]
    assert "Opensim" in scope["opensim"]
    assert "event loop" in scope["loop"]
    assert "docker" in scope["docker"]
    assert "EmptyLaunchCommand" in scope["by_hand"]
    assert "surely_not_installed_anywhere" in scope["needs"]  # found through the example's own module
    assert scope["fine"] is None


@pytest.mark.timeout(60)
def test_checks_sharing_a_resource_never_overlap_and_skips_do_not_run():
    order, lock, other_started = [], threading.Lock(), threading.Event()

    def note(event):
        with lock:
            order.append(event)

    def first(sandbox):
        note("first starts")
        # With two workers the second check waits for this one's resource, so the free one runs meanwhile.
        assert other_started.wait(timeout=20)
        note("first ends")
        return Outcome.passed()

    def free(sandbox):
        other_started.set()
        return Outcome.passed()

    def second(sandbox):
        note("second starts")
        return Outcome.failed("on purpose")

    checks = [Check(name="a first", run=first, resources=frozenset({"port"})),
              Check(name="b second", run=second, resources=frozenset({"port"})),
              Check(name="c free", run=free),
              Check(name="d skipped", run=second, skip="not here")]
    results, output = run_checks(checks, jobs=2)

    assert order == ["first starts", "first ends", "second starts"]
    assert {r.check: r.outcome.status for r in results} == {
        "a first": Status.PASS, "b second": Status.FAIL, "c free": Status.PASS, "d skipped": Status.SKIP}
    assert summary(results) == "2 passed, 1 failed, 1 skipped"
    assert all(LINE.match(line) for line in output.splitlines()), output


@pytest.mark.timeout(120)
def test_standalone_check_passes_on_tf_exchange(nrp_core_checkout):
    check = standalone_check(config_named(nrp_core_checkout, "examples/tf_exchange/simulation_config.json"))
    results, output = run_checks([check])

    assert results[0].outcome.status == Status.PASS, output


@pytest.mark.real_client
@pytest.mark.timeout(120)
def test_client_check_drives_our_nrpcoresim_through_the_real_client(nrp_core_checkout):
    if not (REPO / ".venv-nrp-client" / "bin" / "python").exists():
        pytest.skip(".venv-nrp-client does not exist (scripts/setup-real-client.sh)")
    check = client_check(config_named(nrp_core_checkout,
                                      "examples/status_function_test/simulation_config_done_flag.json"))
    results, output = run_checks([check])

    assert results[0].outcome.status == Status.PASS, output


@pytest.mark.timeout(120)
def test_an_engine_traceback_fails_the_standalone_check_with_the_error(tmp_path):
    checkout = write_checkout(tmp_path / "checkout", {
        "examples/failing/simulation_config.json": python_json_config(),
        "examples/failing/engine.py": (
            "from nrp_core.engines.python_json import EngineScript\n"
            "class Script(EngineScript):\n"
            "    def initialize(self):\n"
            "        pass\n"
            "    def runLoop(self, timestep_ns):\n"
            "        raise ValueError('broken on purpose')\n"
            "    def shutdown(self):\n"
            "        pass\n"),
    })
    results, output = run_checks([standalone_check(config_named(checkout, "examples/failing/simulation_config.json"))])

    assert results[0].outcome.status == Status.FAIL, output
    assert "broken on purpose" in results[0].outcome.reason


def test_checkout_without_engine_unit_tests_lists_them_as_skipped(nrp_core_checkout):
    if (nrp_core_checkout / "nrp_python_json_engine" / "tests").is_dir():
        pytest.skip("this checkout has the engine servers' unit tests")
    unit = [check for check in build_checks(nrp_core_checkout) if check.name.startswith("unit-tests")]

    assert [check.name for check in unit] == ["unit-tests nrp_python_json_engine/tests",
                                              "unit-tests nrp_python_grpc_engine/tests"]
    assert all("full checkout" in check.skip for check in unit)


def test_real_engine_checks_need_the_engine_servers_of_a_full_checkout(nrp_core_checkout):
    from conformance.suites import real_engine_checks

    checks = real_engine_checks(nrp_core_checkout)
    if not (nrp_core_checkout / "nrp_python_json_engine").is_dir():
        assert len(checks) == 1 and "full checkout" in checks[0].skip
    else:  # each python_json/python_grpc-only example, with the servers launched by us and by hand
        assert "real-engines-hand examples/tf_exchange/simulation_config.json" in {check.name for check in checks}


@pytest.mark.timeout(180)
def test_command_prints_a_line_per_check_and_the_counts(nrp_core_checkout, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    completed = subprocess.run([str(RUNNER), str(nrp_core_checkout), "-k", "tf_exchange/simulation_config.json",
                                "-k", "unit-tests"], env=env, capture_output=True, text=True, timeout=170)
    lines = completed.stdout.splitlines()

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert re.fullmatch(r"2 passed, 0 failed, 2 skipped in \d+s", lines[-1]), lines[-1]
    checks = [LINE.match(line) for line in lines[:-1]]
    assert all(checks), lines
    assert {match.group(2) for match in checks if match.group(1) == "PASS"} == {
        "standalone examples/tf_exchange/simulation_config.json", "client examples/tf_exchange/simulation_config.json"}
    assert list(tmp_path.iterdir()) == []


@pytest.mark.timeout(120)
def test_ctrl_c_ends_every_process_and_removes_the_temporary_folder(nrp_core_checkout, tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with subprocess.Popen([str(RUNNER), str(nrp_core_checkout), "-k", "nest_simple/simulation_config.json"],
                          env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as runner:
        try:
            def nest_engines() -> list[psutil.Process]:
                assert runner.poll() is None, "no NEST engine started"
                return in_folder(tmp_path, "nrp-nest-json-engine")

            engines = eventually(nest_engines, 60, "no NEST engine started", every_s=0.1)
            runner.send_signal(signal.SIGINT)
            output, _ = runner.communicate(timeout=60)
        finally:
            if runner.poll() is None:
                runner.kill()

    assert runner.returncode == 130, output
    assert "interrupted" in output.splitlines()[-1]
    assert list(tmp_path.iterdir()) == []
    gone, alive = psutil.wait_procs(engines, timeout=5)
    assert not alive


def in_folder(folder: pathlib.Path, word: str) -> list[psutil.Process]:
    """Live processes whose command line names `word` and which work inside `folder`."""
    found = []
    for process in psutil.process_iter(["cmdline", "status", "cwd"]):
        cmdline = process.info["cmdline"] or []
        if process.info["status"] == psutil.STATUS_ZOMBIE or not process.info["cwd"]:
            continue
        if any(word in part for part in cmdline) and process.info["cwd"].startswith(str(folder)):
            found.append(process)
    return found
