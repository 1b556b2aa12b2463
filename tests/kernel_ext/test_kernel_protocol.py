"""The server <-> experiment-kernel protocol (docs/architecture.md) in a real kernel, with a real
NRPCoreSim and real engines."""

import os
import signal
import textwrap

import psutil
import pytest

from tests.conftest import assert_no_core_processes
from tests.kernel_ext.conftest import make_experiment
from tests.kernel_ext.kernels import BOOTSTRAP, ExperimentKernel, assert_kernel_is_this_interpreter
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)

# How long a stop may take before the test gives up on it (the stop is timed in benchmarks/).
STOP_WITHIN_S = 5.0
# Code that fails in the kernel while the simulation server's owner thread (the one code that emits
# events) still runs.
OWNER_ENDED = ("import threading as _threading\n"
               "assert 'NrpSimulationServer' not in [_t.name for _t in _threading.enumerate()]")


@pytest.fixture
def open_kernel(tmp_path, no_leftover_processes):
    """Starts experiment kernels on tf_exchange copies; shuts them down and kills leftovers at the end."""
    kernels = []

    def open_(name="sim", **changes):
        directory = make_experiment(tmp_path / name, **changes)
        kernel = ExperimentKernel(directory)
        kernels.append(kernel)
        assert_kernel_is_this_interpreter(kernel)
        return kernel

    yield open_
    for kernel in kernels:
        kernel.close()
    assert_no_core_processes(no_leftover_processes, within_s=5)


def running(kernel, after: int):
    """Waits for a status showing simulation time passed since `after` (the kernel ticks once a second)."""
    return kernel.wait_for(lambda e: e["event"] == "status" and e.get("state") == "started"
                           and e.get("simulationTime", 0) > 0, 5, after)


def initialize(kernel):
    reply = kernel.execute(BOOTSTRAP)
    assert reply["status"] == "ok", kernel.log()
    assert "initialized" not in kernel.names()  # answered at once; the outcome comes as an event
    initialized = kernel.wait_event("initialized", 30)
    return initialized


def statuses(kernel, after=0, before=None):
    return [e for e in kernel.events[after:before] if e["event"] == "status"]


def assert_progress_tasks_closed(kernel):
    """Every progress task that was opened is closed with `done`, after its last subtask."""
    progress = [e for e in kernel.events if e["event"] == "progress"]
    for task in {e["task"] for e in progress}:
        last_subtask = max(i for i, e in enumerate(progress) if e["task"] == task and "subtask" in e)
        assert any(e["task"] == task and e.get("done") for e in progress[last_subtask:]), task


def assert_nothing_can_follow(kernel):
    """The thread that emits every event has ended: no status tick, nor any other event, can come."""
    eventually(lambda: kernel.execute(OWNER_ENDED)["status"] == "ok", 5, "the simulation server's thread ends")


def assert_stopped_cleanly(kernel, after):
    stopped = kernel.wait_event("stopped", STOP_WITHIN_S, after=after)
    assert kernel.core_processes() == []
    last_status = statuses(kernel)[-1]
    assert last_status["state"] in ("stopped", "failed")
    assert_nothing_can_follow(kernel)
    assert kernel.events[-1] is stopped  # nothing after the final event
    assert_progress_tasks_closed(kernel)
    return stopped


def test_a_simulation_initialises_runs_pauses_resumes_and_completes_at_its_timeout(open_kernel):
    kernel = open_kernel(timeout=30)  # 3000 steps: a few seconds of wall time
    initialized = initialize(kernel)

    before = [e["event"] for e in kernel.events[:kernel.index(initialized)] if e["event"] != "status"]
    assert before[0] == "progress" and set(before) == {"progress"}
    assert kernel.names(statuses=False).count("runtime_error") == 0
    nrpcoresim = initialized["nrpcoresim_pid"]
    assert nrpcoresim in [child.pid for child in kernel.process.children()]

    # Statuses keep coming while paused, with NRP's status fields, and nothing else comes with them.
    first = kernel.index(initialized)
    kernel.wait_for(lambda e: len(statuses(kernel, first)) >= 4, 6)
    ticks = statuses(kernel, first)[:4]
    assert kernel.names(first + 1, statuses=True)[:4] == ["status"] * 4
    for tick in ticks:
        assert set(tick) == {"event", "realTime", "simulationTime", "state", "simulationTimeLeft"}
        assert (tick["state"], tick["simulationTime"], tick["realTime"]) == ("paused", 0.0, 0.0)
        assert tick["simulationTimeLeft"] == pytest.approx(30.0)

    mark = kernel.mark()
    kernel.command("start")
    kernel.wait_event("status", 1, after=mark, state="started")
    running(kernel, mark)

    mark = kernel.mark()
    kernel.command("pause")
    at_pause = kernel.wait_event("status", 1, after=mark, state="paused")
    assert 0 < at_pause["simulationTime"] < 30
    kernel.wait_for(lambda e: len(statuses(kernel, kernel.index(at_pause) + 1)) >= 2, 4)
    frozen = statuses(kernel, kernel.index(at_pause) + 1)[:2]
    assert frozen[0]["simulationTime"] == frozen[1]["simulationTime"]
    assert frozen[0]["realTime"] == frozen[1]["realTime"]
    # At most the step in flight when pause arrived ran after it.
    assert frozen[0]["simulationTime"] - at_pause["simulationTime"] <= 0.01 + 1e-9
    assert [e["state"] for e in frozen] == ["paused", "paused"]

    mark = kernel.mark()
    kernel.command("resume")
    kernel.wait_event("status", 1, after=mark, state="started")
    frozen_time = frozen[0]["simulationTime"]
    advanced = kernel.wait_for(lambda e: e["event"] == "status" and e["simulationTime"] > frozen_time,
                               3, after=mark)
    assert advanced["state"] in ("started", "completed")

    completed = kernel.wait_event("completed", 60, after=mark)
    assert completed["failed"] is False
    assert "runtime_error" not in kernel.names()
    final = statuses(kernel, before=kernel.index(completed))[-1]
    assert (final["state"], final["simulationTime"], final["simulationTimeLeft"]) == ("completed", 30.0, 0.0)
    # simulationTime + simulationTimeLeft stays the timeout throughout.
    totals = {round(e["simulationTime"] + e["simulationTimeLeft"], 6) for e in statuses(kernel, first)}
    assert totals == {30.0}

    illegal = kernel.execute("__nrp_simulation__.pause()")
    assert (illegal["status"], illegal["ename"]) == ("error", "IllegalCommand")
    assert "completed" in illegal["evalue"]

    mark = kernel.mark()
    kernel.command("stop")
    assert_stopped_cleanly(kernel, mark)
    assert kernel.names(mark, statuses=False) == ["progress", "progress", "progress", "stopped"]


@pytest.mark.timeout(60)
def test_a_one_second_simulation_ends_within_seconds_without_error(open_kernel):
    kernel = open_kernel()  # tf_exchange as shipped: SimulationTimeout 1 s
    initialize(kernel)
    mark = kernel.mark()
    kernel.command("start")
    completed = kernel.wait_event("completed", 5, after=mark)
    assert completed["failed"] is False
    assert kernel.names(mark, statuses=False) == ["completed"]
    assert [e["state"] for e in statuses(kernel, mark)][-1] == "completed"

    mark = kernel.mark()
    kernel.command("stop")
    assert_stopped_cleanly(kernel, mark)


@pytest.mark.parametrize("where", ["paused before start", "paused in the script", "started"])
def test_stop_ends_everything(open_kernel, where):
    kernel = open_kernel(timeout=100000)
    initialize(kernel)
    if where == "paused before start":
        illegal = kernel.execute("__nrp_simulation__.resume()")
        assert (illegal["status"], illegal["ename"]) == ("error", "IllegalCommand")
        assert "'paused'" in illegal["evalue"]
    else:
        mark = kernel.mark()
        kernel.command("start")
        running(kernel, mark)
        if where == "paused in the script":
            mark = kernel.mark()
            kernel.command("pause")
            kernel.wait_event("status", 1, after=mark, state="paused")
            eventually(lambda: kernel.execute("assert __nrp_simulation__.nrp.held")["status"] == "ok", 5,
                       "the script waits in nrp.run_loop() for resume")

    mark = kernel.mark()
    kernel.command("stop")
    assert "stopped" not in kernel.names(mark)  # the command returns at once; the stop ends after it
    assert_stopped_cleanly(kernel, mark)
    assert "completed" not in kernel.names(mark) and "runtime_error" not in kernel.names(mark)

    again = kernel.execute("__nrp_simulation__.stop()")
    assert again["status"] == "ok"  # stop is idempotent
    illegal = kernel.execute("__nrp_simulation__.start()")
    assert (illegal["status"], illegal["ename"]) == ("error", "IllegalCommand")


@pytest.mark.timeout(60)
def test_a_syntax_error_in_the_main_script_fails_initialisation_with_a_compile_error(open_kernel):
    kernel = open_kernel(script=textwrap.dedent("""\
        # line 1
        x = 1
        if x = 2:
            pass
        """))
    reply = kernel.execute(BOOTSTRAP)
    assert reply["status"] == "ok"
    failed = kernel.wait_event("failed", 30)
    error = kernel.wait_event("runtime_error", 1)
    assert kernel.index(error) < kernel.index(failed)
    assert (error["error_type"], error["fileName"], error["line_number"]) == ("Compile", "main_script.py", 3)
    assert error["line_text"] == "if x = 2:" and error["offset"] > 0
    assert failed["reason"] == error["msg"]
    assert "initialized" not in kernel.names()
    assert_progress_tasks_closed(kernel)
    assert statuses(kernel)[-1]["state"] == "failed"
    assert kernel.core_processes() == []

    mark = kernel.mark()
    kernel.command("stop")
    kernel.wait_event("stopped", 2, after=mark)


@pytest.mark.parametrize("while_", ["started", "paused"])
def test_nrpcoresim_killed_mid_run_completes_as_failed_naming_it(open_kernel, while_):
    kernel = open_kernel(timeout=100000)
    nrpcoresim = initialize(kernel)["nrpcoresim_pid"]
    mark = kernel.mark()
    kernel.command("start")
    running(kernel, mark)
    if while_ == "paused":
        mark = kernel.mark()
        kernel.command("pause")
        kernel.wait_event("status", 2, after=mark, state="paused")

    mark = kernel.mark()
    os.kill(nrpcoresim, signal.SIGKILL)
    completed = kernel.wait_event("completed", 5, after=mark)
    assert completed["failed"] is True
    error = kernel.wait_event("runtime_error", 0, after=mark)
    assert kernel.index(error) < kernel.index(completed)
    assert error["error_type"] == "Runtime"
    assert error["msg"].count(f"NRPCoreSim (pid {nrpcoresim}) was killed by SIGKILL") == 1
    assert error["line_text"].strip() == "_ = nrp.run_loop()"

    mark = kernel.mark()
    kernel.command("stop")
    kernel.wait_event("stopped", STOP_WITHIN_S, after=mark)


def test_an_engine_killed_mid_run_completes_as_failed_naming_the_engine(open_kernel):
    kernel = open_kernel(timeout=100000)
    nrpcoresim = initialize(kernel)["nrpcoresim_pid"]
    mark = kernel.mark()
    kernel.command("start")
    running(kernel, mark)
    engine = next(child for child in psutil.Process(nrpcoresim).children()
                  if "--engine=python_1" in child.cmdline())

    mark = kernel.mark()
    engine.kill()
    completed = kernel.wait_event("completed", 5, after=mark)
    assert completed["failed"] is True
    error = kernel.wait_event("runtime_error", 0, after=mark)
    assert error["error_type"] == "Runtime"
    assert "python_1" in error["msg"]

    mark = kernel.mark()
    kernel.command("stop")
    assert_stopped_cleanly(kernel, mark)


def test_stop_during_initialisation_ends_everything(open_kernel):
    kernel = open_kernel(timeout=100000)
    assert kernel.execute(BOOTSTRAP)["status"] == "ok"
    kernel.command("stop")
    assert_stopped_cleanly(kernel, 0)
    assert "failed" not in kernel.names() and "runtime_error" not in kernel.names()


def test_nrpcoresim_dying_before_the_script_started_fails_the_simulation(open_kernel):
    kernel = open_kernel(timeout=100000)
    nrpcoresim = initialize(kernel)["nrpcoresim_pid"]
    mark = kernel.mark()
    os.kill(nrpcoresim, signal.SIGKILL)
    # Nothing talks to a paused NRPCoreSim: the status tick notices.
    failed = kernel.wait_event("failed", 4, after=mark)
    error = kernel.wait_event("runtime_error", 0, after=mark)
    assert kernel.index(error) < kernel.index(failed)
    assert error["error_type"] == "Runtime"
    assert f"NRPCoreSim (pid {nrpcoresim}) was killed by SIGKILL" in error["msg"]
    assert statuses(kernel)[-1]["state"] == "failed"
    illegal = kernel.execute("__nrp_simulation__.start()")
    assert (illegal["status"], illegal["ename"]) == ("error", "IllegalCommand")
    assert "'failed'" in illegal["evalue"]

    mark = kernel.mark()
    kernel.command("stop")
    assert_stopped_cleanly(kernel, mark)


def test_stop_while_the_engines_initialise_ends_nrpcoresim_under_it(open_kernel):
    kernel = open_kernel(timeout=100000)
    engine = kernel.simulation_dir / "engine_1.py"
    engine.write_text(engine.read_text().replace(
        "    def initialize(self):\n", "    def initialize(self):\n        import time; time.sleep(20)\n"))
    assert kernel.execute(BOOTSTRAP)["status"] == "ok"
    kernel.wait_event("progress", 10, subtask="Initializing the engines")
    eventually(lambda: len(kernel.core_processes()) == 3, 10, "NRPCoreSim and both engines run")
    assert len(kernel.core_processes()) == 3  # NRPCoreSim and both engines

    mark = kernel.mark()
    kernel.command("stop")
    assert_stopped_cleanly(kernel, mark)
    assert not {"initialized", "failed", "runtime_error"} & set(kernel.names())


@pytest.mark.timeout(60)
def test_a_transceiver_function_that_raises_is_reported_at_its_own_file_and_line(open_kernel):
    kernel = open_kernel()
    (kernel.simulation_dir / "tf_1.py").write_text(textwrap.dedent("""\
        from nrp_core import *
        from nrp_core.data.nrp_json import *


        @EngineDataPack(keyword='datapack_python', id=DataPackIdentifier('datapack1', 'python_1'))
        @TransceiverFunction("python_2")
        def relay(datapack_python):
            gain = 1 / 0
            return []
        """))
    initialize(kernel)
    kernel.command("start")
    completed = kernel.wait_event("completed", 30)
    error = kernel.wait_event("runtime_error", 0)
    assert completed["failed"] is True
    assert (error["error_type"], error["fileName"], error["line_number"]) == ("Runtime", "tf_1.py", 8)
    assert error["line_text"] == "    gain = 1 / 0"
    assert "TransceiverFunction 'transceiver_function' (tf_1.py, line 8) raised ZeroDivisionError" in error["msg"]
