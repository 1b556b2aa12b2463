"""The main script: its check, its globals and thread, and how each way of ending is reported."""

import logging
import queue
import textwrap

import pytest

from kernel_ext.error_reports import ErrorType
from kernel_ext.errors import NRPStopExecution, ScriptLoadError
from kernel_ext.script_runner import THREAD_NAME, MainScript
from kernel_ext.wrapper import TIMEOUT_MESSAGE, NrpCoreWrapper
from tests.kernel_ext.conftest import TF_EXCHANGE

pytestmark = pytest.mark.timeout(20)

SIMULATION_ID = "42"


def write_script(tmp_path, source):
    path = tmp_path / "main_script.py"
    path.write_text(textwrap.dedent(source))
    return path


def run(path, nrp=None):
    """Runs the script on MainScriptThread; returns its outcome (the completion callback's argument)."""
    outcomes = queue.Queue()
    script = MainScript(path, SIMULATION_ID)
    script.start(nrp, outcomes.put)
    outcome = outcomes.get(timeout=10)
    assert script.join(5)
    assert outcomes.empty()  # the callback ran once
    return outcome


def unstarted_nrp(config):
    """A wrapper whose run_loop() never reaches a client: it is stopped or out of time first."""
    nrp = NrpCoreWrapper(None, config)
    nrp._resume()
    return nrp


def test_a_syntax_error_fails_the_check_as_compile_with_line_offset_and_text(tmp_path):
    path = write_script(tmp_path, """\
        x = 1
        y = 2
        while True print(x)
        """)
    script = MainScript(path, SIMULATION_ID)
    with pytest.raises(ScriptLoadError) as caught:
        script.check()
    report = caught.value.report
    assert report.error_type is ErrorType.COMPILE
    assert (report.fileName, report.line_number) == ("main_script.py", 3)
    assert report.line_text == "while True print(x)"
    with pytest.raises(SyntaxError) as python:
        compile(path.read_text(), str(path), "exec")
    assert report.offset == python.value.offset > 0
    assert report.msg.startswith("SyntaxError: ")
    assert report.event_fields()["error_type"] == "Compile"


def test_an_unreadable_script_fails_the_check_as_loading(tmp_path):
    script = MainScript(tmp_path / "main_script.py", SIMULATION_ID)
    with pytest.raises(ScriptLoadError) as caught:
        script.check()
    report = caught.value.report
    assert report.error_type is ErrorType.LOADING
    assert "main_script.py" in report.msg
    assert (report.line_number, report.offset, report.line_text) == (-1, -1, "")


def test_the_script_sees_exactly_nrps_globals_on_main_script_thread_and_logs_to_its_file(tmp_path):
    path = write_script(tmp_path, """\
        import threading
        names = sorted(name for name in globals() if not name.startswith("__"))
        file_logger.debug("globals %s", names)
        file_logger.debug("thread %s", threading.current_thread().name)
        file_logger.debug("logger %s %s %s", file_logger.name, file_logger.level, file_logger.propagate)
        """)
    outcome = run(path, nrp="the nrp object")
    assert (outcome.error, outcome.report) == (None, None)
    log_text = (tmp_path / f"main_script_{SIMULATION_ID}.log").read_text()
    # `threading` is the script's own import; the rest is what it was given.
    assert "globals ['NRPSimulationTimeout', 'file_logger', 'logging', 'nrp', 'threading']" in log_text
    assert f"thread {THREAD_NAME}" in log_text
    assert f"logger main_script_{SIMULATION_ID}.log {logging.DEBUG} False" in log_text


@pytest.mark.parametrize(("source", "error_type", "line", "line_text", "message"), [
    # A name or attribute error is a Compile error, at the innermost line of the script itself.
    ("""\
        def step():
            return undefined_name + 1

        step()
        """, ErrorType.COMPILE, 2, "    return undefined_name + 1",
     "NameError: name 'undefined_name' is not defined"),
    ("""\
        x = 1
        x.no_such_attribute
        """, ErrorType.COMPILE, 2, "x.no_such_attribute", "AttributeError: "),
    ("""\
        import json
        value = 1

        json.loads("{not json")
        """, ErrorType.RUNTIME, 4, 'json.loads("{not json")', "JSONDecodeError: "),
    ("""\
        raise ValueError("bad value")
        """, ErrorType.RUNTIME, 1, 'raise ValueError("bad value")', "ValueError: bad value"),
    ("""\
        import sys
        sys.exit(3)
        """, ErrorType.RUNTIME, 2, "sys.exit(3)", "SystemExit: 3"),
])
def test_an_exception_is_reported_with_its_type_and_the_scripts_line(tmp_path, source, error_type, line,
                                                                     line_text, message):
    outcome = run(write_script(tmp_path, source))
    report = outcome.report
    assert report.error_type is error_type
    assert (report.fileName, report.line_number, report.line_text) == ("main_script.py", line, line_text)
    assert report.offset >= 1
    assert report.msg.startswith(message)
    assert outcome.error is not None and not outcome.stopped


def test_a_syntax_error_raised_while_running_is_a_compile_error_at_the_scripts_line(tmp_path):
    outcome = run(write_script(tmp_path, """\
        source = "1 +"
        compile(source, "generated", "exec")
        """))
    assert outcome.report.error_type is ErrorType.COMPILE
    assert outcome.report.line_number == 2


def test_a_timeout_that_escapes_the_script_is_reported_as_sim_timeout(tmp_path):
    outcome = run(write_script(tmp_path, """\
        file_logger.info("start")
        while True:
            nrp.run_loop()
        """), nrp=unstarted_nrp({"SimulationTimeout": 0, "SimulationTimestep": 0.01}))
    report = outcome.report
    assert report.error_type is ErrorType.SIM_TIMEOUT
    assert report.msg == f"NRPSimulationTimeout: {TIMEOUT_MESSAGE}"
    assert (report.line_number, report.line_text) == (3, "    nrp.run_loop()")


def test_the_canonical_script_catches_the_timeout_and_ends_normally(tmp_path):
    canonical = (TF_EXCHANGE / "main_script.py").read_text()
    outcome = run(write_script(tmp_path, canonical),
                  nrp=unstarted_nrp({"SimulationTimeout": 0, "SimulationTimestep": 0.01}))
    assert (outcome.error, outcome.report) == (None, None)
    assert "NRPSimulationTimeout reached" in (tmp_path / f"main_script_{SIMULATION_ID}.log").read_text()


def test_a_stop_is_not_an_error(tmp_path):
    nrp = unstarted_nrp({"SimulationTimeout": 10})
    nrp._request_stop()
    outcome = run(write_script(tmp_path, """\
        while True:
            nrp.run_loop()
        """), nrp=nrp)
    assert isinstance(outcome.error, NRPStopExecution) and outcome.stopped
    assert outcome.report is None


def test_the_callback_runs_even_for_a_base_exception(tmp_path):
    outcome = run(write_script(tmp_path, "raise KeyboardInterrupt\n"))
    assert outcome.report.error_type is ErrorType.RUNTIME
    assert outcome.report.msg == "KeyboardInterrupt: "


def test_a_script_starts_once(tmp_path):
    script = MainScript(write_script(tmp_path, "pass\n"), SIMULATION_ID)
    outcomes = queue.Queue()
    script.start(None, outcomes.put)
    outcomes.get(timeout=5)
    with pytest.raises(RuntimeError, match="already"):
        script.start(None, outcomes.put)
