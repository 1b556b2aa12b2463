"""Initialisation failures: the Loading report (file, line) and whose fault they are.

The errors are made by the engines' own code (ScriptHost.describe_failure, EngineError, the
launchers), and reach the kernel as NRPCoreSim passes them on: its message and the failure's kind
(engines.errors.failure_detail), which the nrp-core client raises as RequestFailed; a real kernel
then shows the `failed` event.
"""

import os

import pytest

from engines.errors import (
    EngineCrashed,
    EngineError,
    EngineProgramUnavailable,
    EngineTimeout,
    FailureDetail,
    FailureKind,
    FunctionError,
    failure_detail,
)
from engines.nrpcore_client import RequestFailed
from engines.servers.script.script_base import ScriptBase
from engines.servers.script.script_host import ScriptHost
from kernel_ext.core_launch import read_config
from kernel_ext.error_reports import ErrorType, RuntimeErrorReport
from kernel_ext.errors import ScriptLoadError
from kernel_ext.loading_errors import LOADING_MESSAGE, Cause, loading_failure
from tests.kernel_ext.conftest import make_experiment
from tests.kernel_ext.kernels import BOOTSTRAP, ExperimentKernel, assert_kernel_is_this_interpreter

pytestmark = pytest.mark.timeout(60)


def core_failure(error: Exception) -> RequestFailed:
    """What the nrp-core client raises when `error` leaves NRPCoreSim in state Failed: NRPCoreSim's
    reply carries its message and, as metadata, its kind (engines/nrpcoresim/server.py)."""
    return RequestFailed(str(error), FailureDetail.from_metadata(failure_detail(error).to_metadata()))


def refusal_of(script_text: str, directory, engine="python_2") -> str:
    """The engine server's answer to initialize with a script whose initialize() fails."""
    script = directory / "engine_script.py"
    script.write_text(script_text)
    host = ScriptHost(engine, ScriptBase)
    previous = os.getcwd()
    os.chdir(directory)  # engine processes run in the simulation directory
    try:
        with pytest.raises(Exception) as caught:
            host.initialize({"EngineName": engine, "PythonFileName": "engine_script.py",
                             "TimeRatio": [1, 1_000_000_000]})
        return host.describe_failure("initialize", caught.value)
    finally:
        os.chdir(previous)


def classify(error, directory):
    return loading_failure(error, script_name="main_script.py", config_name="simulation_config.json",
                           simulation_dir=str(directory))


SCRIPT = """from engines.servers.script.script_base import ScriptBase


class Script(ScriptBase):
    def initialize(self):
        raise FileNotFoundError("brain.nest")
"""


@pytest.mark.parametrize("wrap", [
    lambda engine, inner: EngineError(engine, f"/initialize failed (HTTP 500): {inner}"),  # JSON over REST
    lambda engine, inner: EngineError(engine, f"initialize failed: {inner}"),  # gRPC
])
def test_an_engine_refusal_names_engine_file_and_line(tmp_path, wrap):
    inner = refusal_of(SCRIPT, tmp_path)
    failure = classify(core_failure(wrap("python_2", inner)), tmp_path)

    assert (failure.cause, failure.engine) == (Cause.EXPERIMENT, "python_2")
    report = failure.report
    assert report == RuntimeErrorReport(msg=f"{LOADING_MESSAGE}: {inner}", error_type=ErrorType.LOADING,
                                        fileName="engine_script.py", line_number=6,
                                        line_text='        raise FileNotFoundError("brain.nest")')
    assert failure.failed_fields() == {"reason": report.msg, "cause": "experiment", "engine": "python_2"}


def test_a_refusal_without_a_line_names_the_script(tmp_path):
    inner = str(EngineError("sim", "initialize failed (script sim_engine.py): WorldFileError: gone"))
    failure = classify(core_failure(EngineError("sim", f"/initialize failed (HTTP 500): {inner}")), tmp_path)
    assert (failure.cause, failure.report.fileName, failure.report.line_number) == (
        Cause.EXPERIMENT, "sim_engine.py", -1)


def test_a_refusal_naming_no_file_points_at_the_config(tmp_path):
    inner = str(EngineError("dt", "initialize failed: DataTransferConfigError: dumps[1].network: "
                                  "must be true or false"))
    failure = classify(core_failure(EngineError("dt", f"initialize failed: {inner}")), tmp_path)
    assert (failure.cause, failure.engine, failure.report.fileName) == (
        Cause.EXPERIMENT, "dt", "simulation_config.json")


@pytest.mark.parametrize("error", [
    EngineCrashed("python_1", "its process exited with status 1"),
    EngineTimeout("python_1", "loop is taking too long to complete (EngineCommandTimeout 1 s exceeded)"),
    EngineError("python_1", "/initialize failed (HTTP 502): Bad Gateway"),  # not the engine's own words
    EngineError("python_1", "initialize failed (script x.py): E: refused"),  # no client wrapped it
])
def test_engines_that_crash_time_out_or_answer_oddly_are_the_infrastructure(tmp_path, error):
    failure = classify(core_failure(error), tmp_path)
    assert (failure.cause, failure.engine) == (Cause.INFRASTRUCTURE, "python_1")
    assert failure.report == RuntimeErrorReport(msg=f"{LOADING_MESSAGE}: {error}",
                                                error_type=ErrorType.LOADING, fileName="main_script.py")


@pytest.mark.parametrize("error", [ChildProcessError("NRPCoreSim exited with status 2"),
                                   TimeoutError("Timeout while connecting to NRP Server."),
                                   ConnectionError("NRP Server is unavailable"),
                                   RuntimeError("something else entirely")])
def test_failures_outside_the_engines_are_the_infrastructure(tmp_path, error):
    failure = classify(error, tmp_path)
    assert (failure.cause, failure.engine) == (Cause.INFRASTRUCTURE, None)
    assert failure.report.msg == f"{LOADING_MESSAGE}: {type(error).__name__}: {error}"
    assert failure.report.fileName == "main_script.py"


def launch_error(start) -> RequestFailed:
    """What a launcher of engines/nrpcoresim/launchers.py raises, as NRPCoreSim passes it on."""
    from engines.errors import EngineLaunchError

    with pytest.raises(EngineLaunchError) as caught:
        start()
    return core_failure(caught.value)


def test_an_engine_program_the_config_names_that_does_not_exist_is_the_experiment(tmp_path):
    from engines.nrpcoresim.launchers import BasicFork

    failure = classify(launch_error(lambda: BasicFork("python_2").start(["my-engine-not-installed"], [], None)),
                       tmp_path)
    assert (failure.cause, failure.engine) == (Cause.EXPERIMENT, "python_2")
    assert failure.report.fileName == "simulation_config.json"
    assert "my-engine-not-installed" in failure.report.msg


def test_an_engine_started_elsewhere_that_does_not_answer_is_the_experiment(tmp_path):
    from engines.nrpcoresim.launchers import EmptyLaunchCommand
    from tests.ports import free_port

    launcher = EmptyLaunchCommand("python_2", f"127.0.0.1:{free_port()}")
    failure = classify(launch_error(lambda: launcher.wait_listening(0.2)), tmp_path)
    assert (failure.cause, failure.engine, failure.report.fileName) == (
        Cause.EXPERIMENT, "python_2", "simulation_config.json")


def test_one_of_our_own_engine_programs_missing_is_the_installation(tmp_path):
    error = EngineProgramUnavailable("python_2", "cannot start 'nrp-python-json-engine': No such file or directory",
                                     program="nrp-python-json-engine")
    failure = classify(core_failure(error), tmp_path)
    assert (failure.cause, failure.report.fileName) == (Cause.INFRASTRUCTURE, "main_script.py")


@pytest.mark.parametrize("error, line", [
    (FunctionError("tf_1.py, line 3: NameError: name 'x' is not defined", file="tf_1.py", line=3), 3),
    (FunctionError("tf_1.py, line None: KeyError: 'k'", file="tf_1.py"), -1),
    (FunctionError("tf_1.py: function 'transceiver_function' is not defined", function="transceiver_function",
                   file="tf_1.py"), -1)])
def test_a_function_that_does_not_load_names_its_file(tmp_path, error, line):
    failure = classify(core_failure(error), tmp_path)
    assert (failure.cause, failure.engine) == (Cause.EXPERIMENT, None)
    assert (failure.report.fileName, failure.report.line_number) == ("tf_1.py", line)


def test_a_failure_nrpcoresim_gives_no_kind_for_is_the_infrastructure_and_reported_whole(tmp_path):
    # nrp-core's own NRPCoreSim sends errorMsg only: the words are not guessed at.
    inner = str(EngineError("sim", "initialize failed (script sim_engine.py): WorldFileError: gone"))
    text = f'Engine "sim": initialize failed: {inner}'
    failure = classify(RequestFailed(text), tmp_path)
    assert (failure.cause, failure.engine, failure.report.fileName) == (Cause.INFRASTRUCTURE, None, "main_script.py")
    assert failure.report.msg == f"{LOADING_MESSAGE}: {text}"


def test_the_kind_of_failure_survives_the_metadata_and_unknown_kinds_are_ignored():
    detail = FailureDetail(kind=FailureKind.ENGINE_REFUSED, engine="é", file="x.py", line=3, reply_at=20)
    assert FailureDetail.from_metadata(detail.to_metadata()) == detail
    (key, _), = detail.to_metadata()
    assert FailureDetail.from_metadata([(key, '{"kind": "from_the_future"}')]) is None
    assert FailureDetail.from_metadata([("other", "x")]) is None


def test_an_unreadable_config_is_the_experiment_and_named_without_the_server_path(tmp_path):
    (tmp_path / "simulation_config.json").write_text("{broken")
    with pytest.raises(Exception) as caught:
        read_config(tmp_path / "simulation_config.json")
    failure = classify(caught.value, tmp_path)
    assert (failure.cause, failure.report.fileName) == (Cause.EXPERIMENT, "simulation_config.json")
    assert failure.report.msg.startswith(f"{LOADING_MESSAGE}: simulation_config.json: invalid JSON")
    assert str(tmp_path) not in failure.report.msg


def test_a_main_script_that_cannot_be_loaded_keeps_its_report(tmp_path):
    report = RuntimeErrorReport(msg="Cannot read the main script", error_type=ErrorType.LOADING,
                                fileName="main_script.py")
    failure = classify(ScriptLoadError(report), tmp_path)
    assert (failure.cause, failure.report) == (Cause.EXPERIMENT, report)


def test_paths_in_the_simulation_directory_are_made_relative_whichever_way_it_is_written(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "alias").symlink_to(real)
    error = EngineCrashed("e", f"crashed reading {real}/a.urdf and {tmp_path}/alias/b.urdf; {tmp_path}/other stays")
    failure = classify(core_failure(error), tmp_path / "alias")
    assert failure.report.msg == (f'{LOADING_MESSAGE}: Engine "e": crashed reading a.urdf and b.urdf; '
                                  f"{tmp_path}/other stays")


@pytest.mark.timeout(90)
def test_the_failed_event_of_a_real_kernel_says_the_experiment_is_at_fault(tmp_path, no_leftover_processes):
    directory = make_experiment(tmp_path / "sim")
    engine = directory / "engine_2.py"
    engine.write_text(engine.read_text().replace(
        "def runLoop", 'def initialize(self):\n        raise KeyError("gain")\n\n    def runLoop', 1))
    line = engine.read_text().splitlines().index('        raise KeyError("gain")') + 1
    kernel = ExperimentKernel(directory)
    try:
        assert_kernel_is_this_interpreter(kernel)
        assert kernel.execute(BOOTSTRAP)["status"] == "ok"
        failed = kernel.wait_event("failed", 30)
        error = kernel.wait_event("runtime_error", 1)
        assert (failed["cause"], failed["engine"]) == ("experiment", "python_2")
        assert failed["reason"] == error["msg"]
        assert (error["error_type"], error["fileName"], error["line_number"]) == (
            "Loading", "engine_2.py", line)
        assert error["line_text"].strip() == 'raise KeyError("gain")'
    finally:
        kernel.close()
