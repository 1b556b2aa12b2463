"""Engine server processes: command line, addresses, registration, and how they end."""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading

import grpc
import psutil
import pytest

from nrp_protobuf import engine_grpc_pb2, engine_grpc_pb2_grpc
from tests.engines.servers import scripts
from tests.engines.servers.conftest import Engine, JsonClient, engine_config, engine_env
from tests.ports import free_port, port_is_free
from tests.waiting import eventually

PROTOCOLS = ["json", "grpc"]
SCRIPT_FOR = {"json": scripts.TF_EXCHANGE, "grpc": scripts.GRPC_TF_EXCHANGE}


def initialize(engine, protocol: str) -> None:
    if protocol == "json":
        client = JsonClient(engine.address)
        try:
            client.ok("/initialize", engine_config())
        finally:
            client.close()
    else:
        with grpc.insecure_channel(engine.address) as channel:
            engine_grpc_pb2_grpc.EngineGrpcServiceStub(channel).initialize(
                engine_grpc_pb2.InitializeRequest(json=json.dumps(engine_config())), timeout=10)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol", PROTOCOLS)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_shuts_the_script_down_and_exits_0(tmp_path, start_engine, protocol, signum):
    (tmp_path / "engine.py").write_text(SCRIPT_FOR[protocol])
    engine = start_engine(protocol)
    initialize(engine, protocol)
    engine.proc.send_signal(signum)
    assert engine.wait_exit() == 0
    assert (tmp_path / "shutdown_called").exists()
    assert port_is_free(engine.port)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sigterm_before_initialize_exits_0(start_engine, protocol):
    engine = start_engine(protocol)
    engine.proc.terminate()
    assert engine.wait_exit() == 0
    assert "Traceback" not in engine.stderr()


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_taken_port_falls_back_to_a_free_one_and_registers_it(start_engine, protocol):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        engine = start_engine(protocol, serverurl=f"127.0.0.1:{port}")
        assert engine.address.startswith("127.0.0.1:") and engine.port not in (0, port)
        assert "binding a free port instead" in engine.stderr()
        # The registered address is the one that serves.
        with socket.create_connection(("127.0.0.1", engine.port), timeout=5):
            pass


@pytest.mark.timeout(30)
def test_the_requested_port_is_used_when_free(start_engine):
    port = free_port()
    engine = start_engine(serverurl=f"127.0.0.1:{port}")
    assert engine.address == f"127.0.0.1:{port}"


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_space_separated_flags_options_and_unknown_arguments(start_engine, registrar, protocol):
    engine = start_engine(protocol, args=["--engine", "python_1", "--serverurl", "127.0.0.1:0",
                                          "--regservurl", registrar.url, "--options", "{'timeout':600}",
                                          "--loglevel=debug", "stray"])
    log = engine.stderr()
    assert "ignoring unknown arguments --loglevel=debug stray" in log
    assert "{'timeout': 600}" in log
    assert "[python_1]" in log


@pytest.mark.timeout(30)
def test_bad_options_are_ignored(start_engine, registrar):
    engine = start_engine(args=["--engine=python_1", "--serverurl=127.0.0.1:0",
                                f"--regservurl={registrar.url}", "--options=__import__('os')"])
    assert "ignoring --options" in engine.stderr()


@pytest.mark.timeout(30)
def test_missing_engine_name_is_a_usage_error(tmp_path):
    result = subprocess.run([sys.executable, "-m", "engines.servers.python_json", "--serverurl=127.0.0.1:0"],
                            cwd=tmp_path, env=engine_env(), capture_output=True, timeout=20)
    assert result.returncode == 2 and b"--engine" in result.stderr


@pytest.mark.timeout(30)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_engine_exits_when_its_parent_dies(tmp_path, registrar, protocol):
    # A parent that launches the engine with NRP_PARENT_PID, reports its pid, then waits forever.
    parent_code = textwrap.dedent(f"""
        import os, subprocess, sys
        env = dict(os.environ, NRP_PARENT_PID=str(os.getpid()))
        child = subprocess.Popen([sys.executable, "-m", "engines.servers.python_{protocol}",
                                  "--engine=python_1", "--serverurl=127.0.0.1:0",
                                  "--regservurl={registrar.url}"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=open("engine.stderr", "wb"))
        print(child.pid, flush=True)
        sys.stdin.read()
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=tmp_path, env=engine_env(),
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    engine_pid = None
    try:
        engine_pid = int(parent.stdout.readline())
        registrar.wait(parent, tmp_path / "engine.stderr")
        parent.kill()
        parent.wait(10)
        # The engine is no child of ours, so there is nothing to wait() on: watch it end.
        eventually(lambda: not _alive(engine_pid), 10, f"engine {engine_pid} gone after its parent")
        assert "parent process" in (tmp_path / "engine.stderr").read_text()
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if engine_pid is not None and _alive(engine_pid):
            os.kill(engine_pid, signal.SIGKILL)
        parent.stdin.close()
        parent.stdout.close()
    assert parent.poll() is not None


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.timeout(30)
def test_script_output_to_a_closed_stdout_breaks_nothing(tmp_path, start_engine):
    (tmp_path / "engine.py").write_text(scripts.TF_EXCHANGE)  # prints in initialize and every step
    engine = start_engine(stdout=subprocess.PIPE)
    engine.proc.stdout.close()
    client = JsonClient(engine.address)
    try:
        client.ok("/initialize", engine_config())
        for _ in range(3):
            client.ok("/run_loop", {"time_step": 1})
        client.ok("/shutdown", None)
    finally:
        client.close()
    assert engine.wait_exit() == 0


@pytest.mark.timeout(40)
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sigterm_during_a_stuck_runloop_still_exits_0(tmp_path, start_engine, protocol):
    base = "EngineScript" if protocol == "json" else "GrpcEngineScript"
    (tmp_path / "engine.py").write_text(scripts.STUCK.format(base=base))
    engine = start_engine(protocol)
    with socket.socket() as notify:
        notify.bind(("127.0.0.1", 0))
        notify.listen()
        notify.settimeout(20)
        config = engine_config(NotifyPort=notify.getsockname()[1])
        errors = []
        step = threading.Thread(target=_step_expecting_failure, args=(engine, protocol, config, errors))
        step.start()
        notify.accept()[0].close()  # runLoop has begun

        engine.proc.terminate()
        # The script call gets SCRIPT_CALL_GRACE_S to finish, then the process goes without it:
        # it exits while runLoop still sleeps (its 120 s outlast this wait).
        assert engine.wait_exit(20) == 0
        step.join(20)
    assert errors == ["request failed"]
    assert "exiting without calling shutdown()" in engine.stderr()
    assert not (tmp_path / "shutdown_called").exists()
    assert port_is_free(engine.port)


def _step_expecting_failure(engine, protocol: str, config: dict, errors: list) -> None:
    if protocol == "json":
        client = JsonClient(engine.address)
        try:
            client.ok("/initialize", config)
            client.post("/run_loop", {"time_step": 1})
        except (ConnectionError, http.client.HTTPException):
            errors.append("request failed")
        finally:
            client.close()
    else:
        with grpc.insecure_channel(engine.address) as channel:
            stub = engine_grpc_pb2_grpc.EngineGrpcServiceStub(channel)
            stub.initialize(engine_grpc_pb2.InitializeRequest(json=json.dumps(config)), timeout=10)
            try:
                stub.runLoopStep(engine_grpc_pb2.RunLoopStepRequest(timeStep=1))
            except grpc.RpcError:
                errors.append("request failed")


@pytest.mark.timeout(30)
def test_a_thread_left_by_the_script_does_not_hold_the_process(tmp_path, start_engine):
    (tmp_path / "engine.py").write_text(scripts.LEAVES_A_THREAD)
    engine = start_engine()
    client = JsonClient(engine.address)
    try:
        client.ok("/initialize", engine_config())
        client.ok("/shutdown", None)
    finally:
        client.close()
    assert engine.wait_exit() == 0
    assert "threads simulator are still running" in engine.stderr()


# The nest_json engine passes the runner a host of its own (BrainHost); the runner closes it.

def start_nest(tmp_path, registrar) -> Engine:
    stderr_path = tmp_path / "nest.stderr"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "engines.servers.nest_json", "--engine=nest",
                                 "--serverurl=127.0.0.1:0", f"--regservurl={registrar.url}"],
                                cwd=tmp_path, env=engine_env(), stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        registration = registrar.wait(proc, stderr_path)
    except BaseException:
        proc.kill()
        proc.wait(10)
        raise
    return Engine(proc, "nest", registration["address"], stderr_path)


def nest_config(**extra) -> dict:
    return {"EngineName": "nest", "EngineType": "nest_json", "NestInitFileName": "brain.py", "NestRNGSeed": 0,
            "EngineTimestep": 0.01, "TimeRatio": [1, 1_000_000_000], **extra}


# Marks the ResetKernel the brain's shutdown makes (the brain file has already made its own).
MARKS_SHUTDOWN = textwrap.dedent("""\
    import pathlib
    nest.ResetKernel()
    nest.Create("iaf_psc_alpha")
    reset_kernel = nest.ResetKernel

    def marking_reset():
        pathlib.Path("kernel_reset").write_text("shutdown")
        reset_kernel()

    # The nest module refuses attribute assignment; its namespace takes the patch.
    vars(nest)["ResetKernel"] = marking_reset
""")

# Tells the test it runs, then waits for a word that never comes.
BLOCKS = textwrap.dedent("""\
    import json, pathlib, socket
    port = json.loads(pathlib.Path("notify_port").read_text())
    waiting = socket.create_connection(("127.0.0.1", port))
    waiting.recv(1)
""")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_shuts_the_nest_brain_down_and_exits_0(tmp_path, registrar, signum):
    (tmp_path / "brain.py").write_text(MARKS_SHUTDOWN)
    engine = start_nest(tmp_path, registrar)
    try:
        client = JsonClient(engine.address)
        client.ok("/initialize", nest_config())
        client.close()
        engine.proc.send_signal(signum)
        assert engine.wait_exit(30) == 0
    finally:
        if engine.proc.poll() is None:
            engine.proc.kill()
            engine.proc.wait(10)
    assert (tmp_path / "kernel_reset").read_text() == "shutdown"
    assert "Traceback" not in engine.stderr()
    assert port_is_free(engine.port)


@pytest.mark.timeout(60)
def test_sigterm_while_the_brain_file_blocks_initialize_still_exits_0(tmp_path, registrar):
    (tmp_path / "brain.py").write_text(BLOCKS)
    with socket.socket() as notify:
        notify.bind(("127.0.0.1", 0))
        notify.listen()
        notify.settimeout(30)
        (tmp_path / "notify_port").write_text(json.dumps(notify.getsockname()[1]))
        engine = start_nest(tmp_path, registrar)
        errors = []
        initialize = threading.Thread(target=_initialize_expecting_failure, args=(engine, errors))
        try:
            initialize.start()
            connection, _ = notify.accept()  # the brain file runs, inside initialize
            engine.proc.terminate()
            # The NEST call gets SCRIPT_CALL_GRACE_S to finish, then the process goes without it:
            # it exits while the brain file still waits on `connection`, which is closed only after.
            assert engine.wait_exit(30) == 0
            connection.close()
            initialize.join(30)
        finally:
            if engine.proc.poll() is None:
                engine.proc.kill()
                engine.proc.wait(10)
    assert errors == ["request failed"]
    assert "exiting without calling shutdown()" in engine.stderr()
    assert port_is_free(engine.port)


def _initialize_expecting_failure(engine, errors: list) -> None:
    client = JsonClient(engine.address)
    try:
        client.post("/initialize", nest_config())
    except (ConnectionError, http.client.HTTPException):
        errors.append("request failed")
    finally:
        client.close()
