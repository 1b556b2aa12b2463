"""engines.nrpcore_client.NrpCore against test doubles: a fake NRPCoreSim script and an in-test NrpCore servicer.

The fake executable only has to stay alive (or die); the gRPC side is a servicer in this process,
whose replies each test scripts. The interop suite (tests/interop) drives the real NRPCoreSim.
"""

import inspect
import json
import os
import stat
import sys
import textwrap
import threading
import time
from concurrent import futures

import grpc
import psutil
import pytest

from engines import nrpcore_client as client_module
from engines.nrpcore_client import NrpCore, UnknownPayloadType, read_trajectory, server_command
from nrp_protobuf import nrp_server_pb2, nrp_server_pb2_grpc, wrappers_pb2, dump_pb2
from tests.ports import free_address
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(30)


# -- doubles ----------------------------------------------------------------------------------------

def _script(path, body: str) -> str:
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture
def sleeper(tmp_path):
    """A fake NRPCoreSim that records its argv and NRP_PARENT_PID, then sleeps until signalled."""
    record = tmp_path / "record"
    path = _script(tmp_path / "NRPCoreSim", f"""\
        printf '%s\\n' "$@" > {record}.argv
        echo "$NRP_PARENT_PID" > {record}.parent
        exec sleep 60
        """)
    return path, record


def double(executable: str) -> type[NrpCore]:
    return type("FakeNrpCore", (NrpCore,), {"executable": executable, "terminate_grace": 2.0})


class ScriptedServicer(nrp_server_pb2_grpc.NrpCoreServicer):
    """Replies with whatever `replies[method]` returns; records every request."""

    def __init__(self):
        self.requests: list[tuple[str, object]] = []
        self.replies = {}

    def _reply(self, method, request, context, default):
        self.requests.append((method, request))
        handler = self.replies.get(method)
        return handler(request, context) if handler else default

    def initialize(self, request, context):
        return self._reply("initialize", request, context, nrp_server_pb2.InitializeResponse(
            simState=nrp_server_pb2.SimStateMessage(currentState="Initialized")))

    def runLoop(self, request, context):
        return self._reply("runLoop", request, context, nrp_server_pb2.RunLoopResponse(
            simState=nrp_server_pb2.SimStateMessage(currentState="Stopped")))

    def runUntilTimeout(self, request, context):
        return self._reply("runUntilTimeout", request, context, nrp_server_pb2.RunLoopResponse(
            simState=nrp_server_pb2.SimStateMessage(currentState="Stopped"), timeoutFlag=True))

    def stopLoop(self, request, context):
        return self._reply("stopLoop", request, context, nrp_server_pb2.Response(
            simState=nrp_server_pb2.SimStateMessage(currentState="Stopped")))

    def reset(self, request, context):
        return self._reply("reset", request, context, nrp_server_pb2.ResetResponse(
            simState=nrp_server_pb2.SimStateMessage(currentState="Initialized")))

    def shutdown(self, request, context):
        return self._reply("shutdown", request, context, nrp_server_pb2.Response(
            simState=nrp_server_pb2.SimStateMessage(currentState="Created")))


class FakeServer:
    def __init__(self):
        self.servicer = ScriptedServicer()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        nrp_server_pb2_grpc.add_NrpCoreServicer_to_server(self.servicer, self.server)
        self.port = self.server.add_insecure_port("localhost:0")
        self.address = f"localhost:{self.port}"

    def start(self, when: threading.Event | None = None) -> threading.Event:
        """Starts the server now, or once `when` is set; the event returned is set once it serves."""
        serving = threading.Event()

        def start():
            if when is not None:
                when.wait()
            self.server.start()
            serving.set()

        threading.Thread(target=start, daemon=True).start() if when is not None else start()
        return serving

    def stop(self) -> None:
        self.server.stop(None).wait()


@pytest.fixture
def fake_server():
    server = FakeServer()
    yield server
    server.stop()


def new_children(before: set[int]) -> list[psutil.Process]:
    """This process's running children that are not in `before`."""
    return [p for p in psutil.Process().children(recursive=True) if p.pid not in before and p.is_running()
            and p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture(autouse=True)
def no_children_left():
    # Children older than the test (a session-wide Jupyter server, say) are not the test's.
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    yield
    eventually(lambda: not new_children(before), 3,
               lambda: f"processes left running: {[p.cmdline() for p in new_children(before)]}")


def state(name: str, error: str = "") -> nrp_server_pb2.SimStateMessage:
    return nrp_server_pb2.SimStateMessage(currentState=name, errorMsg=error)


@pytest.fixture
def core(fake_server, sleeper):
    fake_server.start()
    with double(sleeper[0])(fake_server.address, server_timeout=5) as nrp:
        yield nrp


# -- command line and construction ------------------------------------------------------------------

def test_signature_is_nrp_clients():
    params = inspect.signature(NrpCore).parameters
    assert [(name, p.default) for name, p in params.items()] == [
        ("address", inspect.Parameter.empty), ("experiment_folder", ""),
        ("config_file", "simulation_config.json"), ("args", ""), ("log_output", ".console_output.log"),
        ("server_timeout", 10), ("docker_daemon_address", "unix:///var/run/docker.sock"),
        ("image_name", ""), ("get_archives", []), ("compose_file", "")]


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({}, ["-c", "simulation_config.json", "-m", "server", "--server_address", "localhost:5345",
          "--logoutput=all", "--logfilename=.console_output.log", "--slave"]),
    ({"log_output": "", "experiment_folder": "exp"},
     ["-c", "simulation_config.json", "-m", "server", "--server_address", "localhost:5345", "--slave",
      "-d", "exp"]),
    # split on single spaces, quotes kept, as nrp-client does
    ({"args": '-o EngineConfigs.0.X="0"  --cloglevel debug', "config_file": "c.json", "log_output": "l.log"},
     ["-c", "c.json", "-m", "server", "--server_address", "localhost:5345", "-o", 'EngineConfigs.0.X="0"',
      "", "--cloglevel", "debug", "--logoutput=all", "--logfilename=l.log", "--slave"]),
])
def test_server_command_matches_nrp_client(kwargs, expected):
    arguments = {"config_file": "simulation_config.json", "args": "", "log_output": ".console_output.log",
                 "experiment_folder": "", **kwargs}
    command = server_command(address="localhost:5345", executable="/x/NRPCoreSim", **arguments)
    assert command == ["/x/NRPCoreSim", *expected]


def test_nrpcoresim_found_next_to_the_interpreter():
    beside = os.path.join(os.path.dirname(sys.executable), "NRPCoreSim")
    if not os.access(beside, os.X_OK):
        pytest.skip("nrp-jupyter's console scripts are not installed beside this interpreter")
    assert client_module.find_nrpcoresim() == beside


@pytest.mark.parametrize("launcher", [{"image_name": "nrp-core:1.4"}, {"compose_file": "compose.yml"}])
def test_docker_launchers_are_not_supported(launcher):
    with pytest.raises(NotImplementedError, match="Docker"):
        NrpCore("localhost:1", **launcher)


def test_child_gets_arguments_and_parent_pid(fake_server, sleeper, tmp_path):
    fake_server.start()
    with double(sleeper[0])(fake_server.address, experiment_folder=str(tmp_path), args="-o A=1") as nrp:
        assert nrp.current_state() == "Created"
        record = sleeper[1]
        argv = record.with_suffix(".argv").read_text().split("\n")[:-1]
        assert argv == ["-c", "simulation_config.json", "-m", "server", "--server_address",
                        fake_server.address, "-o", "A=1", "--logoutput=all",
                        "--logfilename=.console_output.log", "--slave", "-d", str(tmp_path)]
        assert record.with_suffix(".parent").read_text().strip() == str(os.getpid())


def test_dead_child_is_reported_at_once_with_exit_code_and_log(tmp_path):
    executable = _script(tmp_path / "NRPCoreSim", """\
        while [ $# -gt 0 ]; do
            case "$1" in --logfilename=*) log="${1#--logfilename=}";; -d) cd "$2";; esac; shift
        done
        echo "loading config" > "$log"
        echo "ConfigError: simulation_config.json: EngineConfigs[0]: bad" >> "$log"
        exit 3
        """)
    # At once: the death is reported, not a TimeoutError after the server_timeout (longer than the
    # test's own timeout, so a client that waited it out would not even get there).
    with pytest.raises(ChildProcessError) as raised:
        double(executable)(free_address("localhost"), experiment_folder=str(tmp_path), server_timeout=60)
    message = str(raised.value)
    assert "exited with code 3" in message
    assert "ConfigError: simulation_config.json: EngineConfigs[0]: bad" in message
    assert str(tmp_path / ".console_output.log") in message


def test_dead_child_without_log_file(tmp_path):
    executable = _script(tmp_path / "NRPCoreSim", "exit 1\n")
    with pytest.raises(ChildProcessError, match="exited with code 1"):
        double(executable)(free_address("localhost"), log_output="", server_timeout=10)


def test_unreachable_server_times_out_and_child_is_stopped(sleeper):
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    server_timeout_ends = time.monotonic() + 0.5
    with pytest.raises(TimeoutError, match="^Timeout while connecting to NRP Server.$"):
        double(sleeper[0])(free_address("localhost"), log_output="", server_timeout=0.5)
    # The client gave up only once its server_timeout was over, and had ended the child by then.
    assert time.monotonic() >= server_timeout_ends
    assert not new_children(before)


def test_a_server_that_comes_up_while_the_client_waits_is_used(fake_server, sleeper):
    client_waits = threading.Event()
    serving = fake_server.start(when=client_waits)

    def note_the_client_waiting():
        # The fake NRPCoreSim writes its record once the client has started it and waits for it.
        eventually(sleeper[1].with_suffix(".parent").exists, 10, "the fake NRPCoreSim started")
        client_waits.set()

    threading.Thread(target=note_the_client_waiting, daemon=True).start()
    with double(sleeper[0])(fake_server.address, server_timeout=20) as nrp:
        # Up before the server_timeout, and only through the server that started meanwhile.
        assert serving.is_set()
        assert nrp.current_state() == "Created"


# -- requests and error mapping ---------------------------------------------------------------------

def test_failed_state_raises_runtime_error(core, fake_server):
    fake_server.servicer.replies["runLoop"] = lambda request, context: nrp_server_pb2.RunLoopResponse(
        simState=state("Failed", "engine python_1 crashed"))
    with pytest.raises(RuntimeError) as raised:
        core.run_loop(1)
    assert str(raised.value) == ('Request failed with error "engine python_1 crashed". '
                                 'The only possible action now is "shutdown()".')
    assert core.current_state() == "Failed"


def test_cancelled_maps_to_cant_process_request(core, fake_server):
    def refuse(request, context):
        context.abort(grpc.StatusCode.CANCELLED, 'Simulation can\'t be initialized from state "Stopped"')
    fake_server.servicer.replies["initialize"] = refuse
    with pytest.raises(ConnectionError, match="^Can't process request$") as raised:
        core.initialize()
    assert raised.value.__cause__.code() == grpc.StatusCode.CANCELLED
    assert core.current_state() == "Created"


def test_other_grpc_errors_propagate(core, fake_server):
    def broken(request, context):
        context.abort(grpc.StatusCode.INTERNAL, "boom")
    fake_server.servicer.replies["reset"] = broken
    with pytest.raises(grpc.RpcError) as raised:
        core.reset()
    assert raised.value.code() == grpc.StatusCode.INTERNAL


def test_unavailable_server(core, fake_server):
    fake_server.stop()
    with pytest.raises(ConnectionError, match="^NRP Server is unavailable$"):
        core.stop()


def test_closed_client_raises_child_process_error(core, fake_server):
    core.shutdown()
    assert core.current_state() == "Created"
    for call in (core.initialize, lambda: core.run_loop(1), core.run_until_timeout, core.stop, core.reset,
                 core.shutdown):
        with pytest.raises(ChildProcessError):
            call()
    core.close()  # idempotent, silent


def test_shutdown_ends_the_child_even_when_refused(core, fake_server):
    def refuse(request, context):
        context.abort(grpc.StatusCode.CANCELLED, 'Simulation can\'t be shut down from state "Created"')
    fake_server.servicer.replies["shutdown"] = refuse
    child = psutil.Process(core._process.pid)
    with pytest.raises(ConnectionError, match="^Can't process request$"):
        core.shutdown()
    assert not child.is_running()


@pytest.mark.parametrize("answer", ["refused", "failed"])
def test_shutdown_answered_by_a_server_that_exits_right_after_still_raises(core, fake_server, answer):
    # NRPCoreSim exits after any shutdown request, as nrp-core's does: its answer is still the outcome.
    def answer_then_exit(request, context):
        core._process._popen.kill()
        core._process._popen.wait(5)
        if answer == "refused":
            context.abort(grpc.StatusCode.CANCELLED, 'Simulation can\'t be shutdown from state "Created"')
        return nrp_server_pb2.Response(simState=state("Failed", "engine python_1 did not shut down"))
    fake_server.servicer.replies["shutdown"] = answer_then_exit
    expected = (ConnectionError, "^Can't process request$") if answer == "refused" else (
        RuntimeError, "did not shut down")
    with pytest.raises(expected[0], match=expected[1]):
        core.shutdown()


def test_shutdown_tolerates_a_dead_server(core, fake_server):
    fake_server.stop()
    psutil.Process(core._process.pid).kill()
    psutil.Process(core._process.pid).wait(5)
    core.shutdown()  # nothing left to shut down: no error


def test_garbage_collected_client_stops_its_child(fake_server, sleeper):
    fake_server.start()
    nrp = double(sleeper[0])(fake_server.address)
    child = psutil.Process(nrp._process.pid)
    del nrp
    child.wait(5)


# -- datapacks and trajectories ---------------------------------------------------------------------

def test_datapacks_go_with_the_next_run_loop_only(core, fake_server):
    core.set_json_datapack("command", "python_1", {"done_at": 5})
    core.set_proto_datapack("offset", "python_2", wrappers_pb2.Int32Value(value=7))
    assert core.run_loop(3) == (False, [])
    core.run_loop(1)
    (_, first), (_, second) = fake_server.servicer.requests[-2:]
    assert first.numIterations == 3
    [json_pack] = first.dataPacks.jsonDataPacks
    assert (json_pack.dataPackId.dataPackName, json_pack.dataPackId.engineName) == ("command", "python_1")
    holder = nrp_server_pb2.JsonMessage()
    assert json_pack.data.Unpack(holder) and json.loads(holder.data) == {"done_at": 5}
    [proto_pack] = first.dataPacks.protoDataPacks
    value = wrappers_pb2.Int32Value()
    assert proto_pack.data.Unpack(value) and value.value == 7
    assert proto_pack.dataPackId.engineName == "python_2"
    assert not second.dataPacks.jsonDataPacks and not second.dataPacks.protoDataPacks


def test_run_until_timeout_keeps_the_buffer_and_reset_sends_it(core, fake_server):
    core.set_json_datapack("command", "python_1", {"done_at": 1})
    assert core.run_until_timeout() == (False, True, [])
    assert core.reset() == []
    method, request = fake_server.servicer.requests[-1]
    assert method == "reset" and len(request.dataPacks.jsonDataPacks) == 1


def _trajectory(*elements) -> nrp_server_pb2.Trajectory:
    trajectory = nrp_server_pb2.Trajectory()
    for index, element in elements:
        if isinstance(element, dict):
            item = trajectory.jsonTrajectoryMessages.add(dataIndex=index)
            item.data.Pack(nrp_server_pb2.JsonMessage(data=json.dumps(element)))
        else:
            trajectory.protoTrajectoryMessages.add(dataIndex=index).data.Pack(element)
    return trajectory


def test_trajectory_merged_by_data_index(core, fake_server):
    trajectory = _trajectory((1, wrappers_pb2.Int32Value(value=1)), (3, dump_pb2.String(string_stream="s")),
                             (0, {"count": 1}), (2, {"count": 2}))
    fake_server.servicer.replies["runLoop"] = lambda request, context: nrp_server_pb2.RunLoopResponse(
        simState=state("Stopped"), doneFlag=True, trajectory=trajectory)
    done, observations = core.run_loop(5)
    assert done is True
    assert observations == [{"count": 1}, wrappers_pb2.Int32Value(value=1), {"count": 2},
                            dump_pb2.String(string_stream="s")]
    assert type(observations[1]) is wrappers_pb2.Int32Value


def test_initialize_returns_the_initial_trajectory(core, fake_server):
    trajectory = _trajectory((0, {"count": 0}), (1, wrappers_pb2.Int32Value(value=0)))
    fake_server.servicer.replies["initialize"] = lambda request, context: nrp_server_pb2.InitializeResponse(
        simState=state("Initialized"), trajectory=trajectory)
    assert core.initialize() == [{"count": 0}, wrappers_pb2.Int32Value(value=0)]
    assert core.current_state() == "Initialized"


def test_payload_outside_proto_modules_comes_from_the_default_pool():
    trajectory = _trajectory((0, nrp_server_pb2.SimStateMessage(currentState="x")))
    assert read_trajectory(trajectory, {}) == [nrp_server_pb2.SimStateMessage(currentState="x")]


def test_unknown_payload_type():
    trajectory = nrp_server_pb2.Trajectory()
    item = trajectory.protoTrajectoryMessages.add(dataIndex=0)
    item.data.type_url = "type.googleapis.com/Nowhere.Nothing"
    with pytest.raises(UnknownPayloadType, match="Nowhere.Nothing"):
        read_trajectory(trajectory, {})


def test_run_loop_async_appends_the_raw_response(core, fake_server):
    release = threading.Event()

    def slow(request, context):
        release.wait(5)
        return nrp_server_pb2.RunLoopResponse(simState=state("Stopped"), doneFlag=True,
                                              trajectory=_trajectory((0, {"count": 9})))
    fake_server.servicer.replies["runLoop"] = slow
    response = []
    thread = core.run_loop(10, run_async=True, response=response)
    assert isinstance(thread, threading.Thread)
    core.stop()  # runs concurrently with the pending runLoop
    release.set()
    thread.join(5)
    [raw] = response
    assert core.unpack_thread_results(raw) == (True, [{"count": 9}])
