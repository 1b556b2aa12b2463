"""NRPCoreSim's server mode where it must behave as nrp-core 1.4's does (its own server suite,
nrp_simulation/tests/server.py, relies on each point), driven by engines.nrpcore_client and by raw gRPC.

- A shutdown request ends the server whatever its outcome, refused in `Created` included, and the
  server stops listening before it answers: the next NRPCoreSim can take the address at once.
- An address that cannot be listened on ends NRPCoreSim at once, before the config is read; a port
  another server holds is not shared.
- Datapacks from the client: one for an engine the simulation lacks is dropped (the run goes on);
  those not yet delivered reach their engines before the engines reset; unreadable ones are
  refused without touching the simulation.
- Status functions may return protobuf `<Package><Message>RawData` observations.
"""

from __future__ import annotations

import socket
import subprocess

import grpc
import pytest

from engines.nrpcore_client import NrpCore
from nrp_protobuf import engine_grpc_pb2, enginetest_pb2, nrp_server_pb2, nrp_server_pb2_grpc
from tests.conftest import BIN_DIR
from tests.interop.server_request_experiment import write_experiment
from tests.ports import free_address

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_leftover_processes")]

def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def start_server(experiment: str, address: str, env) -> subprocess.Popen:
    return subprocess.Popen([str(BIN_DIR / "NRPCoreSim"), "-c", "simulation_config.json", "-m", "server",
                             "--server_address", address, "-d", experiment], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def connected_stub(address: str) -> tuple[grpc.Channel, nrp_server_pb2_grpc.NrpCoreStub]:
    channel = grpc.insecure_channel(address)
    grpc.channel_ready_future(channel).result(timeout=30)
    return channel, nrp_server_pb2_grpc.NrpCoreStub(channel)


def states(trajectory: list) -> dict:
    return {item["engine"]: item for item in trajectory if isinstance(item, dict) and "engine" in item}


# -- shutdown ---------------------------------------------------------------------------------------

def test_refused_shutdown_still_ends_the_server_and_frees_the_address_before_the_answer(tmp_path, core_env):
    experiment = write_experiment(tmp_path / "exp", )
    address = free_address("localhost")
    server = start_server(experiment, address, core_env)
    channel, stub = connected_stub(address)
    try:
        with pytest.raises(grpc.RpcError) as refused:
            stub.shutdown(nrp_server_pb2.EmptyMessage(), timeout=30)
        # Nobody listens any more by the time the refusal arrives.
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port_of(address)), timeout=5).close()
    finally:
        channel.close()
    assert refused.value.code() == grpc.StatusCode.CANCELLED
    assert 'from state "Created"' in refused.value.details()
    output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output


def test_shutdown_refused_by_a_server_that_then_exits_still_raises(tmp_path):
    experiment = write_experiment(tmp_path / "exp", )
    nrp = NrpCore(free_address("localhost"), experiment_folder=experiment, server_timeout=30)
    try:
        with pytest.raises(ConnectionError, match="^Can't process request$"):
            nrp.shutdown()
    finally:
        nrp.close()
    assert nrp._process.exit_code() is not None


def test_the_next_server_takes_the_address_right_after_a_refused_shutdown(tmp_path, core_env):
    experiment = write_experiment(tmp_path / "exp", )
    address = free_address("localhost")
    first = start_server(experiment, address, core_env)
    channel, stub = connected_stub(address)
    with pytest.raises(grpc.RpcError):
        stub.shutdown(nrp_server_pb2.EmptyMessage(), timeout=30)
    channel.close()
    # As nrp-client's __del__ leaves it: no signal, the first server exits by itself.
    second = NrpCore(address, experiment_folder=experiment, server_timeout=30)
    try:
        second.initialize()
        assert second.current_state() == "Initialized"
    finally:
        second.close()
    first.communicate(timeout=30)
    assert first.returncode == 0


# -- the address ------------------------------------------------------------------------------------

@pytest.mark.parametrize("address", ["garbage_address", "localhost:", "localhost:99999", "http://localhost:5"])
def test_an_unusable_address_ends_nrpcoresim_before_the_config_is_read(tmp_path, core_env, address):
    # The config does not exist: the address is refused first, without reading it.
    done = subprocess.run([str(BIN_DIR / "NRPCoreSim"), "-c", "missing.json", "-m", "server",
                           "--server_address", address], cwd=tmp_path, env=core_env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert f"cannot listen on {address}" in done.stderr
    assert "missing.json" not in done.stderr


def test_client_with_an_unusable_address_fails_at_once(tmp_path):
    experiment = write_experiment(tmp_path / "exp", )
    with pytest.raises(ChildProcessError, match="exited with code 2") as raised:
        NrpCore("garbage_address", experiment_folder=experiment, server_timeout=30)
    assert "cannot listen on garbage_address" in str(raised.value)


def test_a_port_another_server_listens_on_is_not_shared(tmp_path, core_env):
    experiment = write_experiment(tmp_path / "exp", )
    with socket.socket() as holder:
        # As a gRPC server with default options binds: it would let another such socket share the port.
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        address = f"127.0.0.1:{holder.getsockname()[1]}"
        with pytest.raises(ChildProcessError, match="exited with code 2") as raised:
            NrpCore(address, experiment_folder=experiment, server_timeout=30)
    assert f"cannot listen on {address}" in str(raised.value)


# -- datapacks from the client ----------------------------------------------------------------------

def test_datapack_for_an_engine_not_in_the_simulation_is_dropped(tmp_path):
    experiment = write_experiment(tmp_path / "exp", )
    with NrpCore(free_address("localhost"), experiment_folder=experiment, server_timeout=30) as nrp:
        nrp.set_proto_datapack("test", "test", enginetest_pb2.TestPayload(integer=555))
        nrp.initialize()
        assert nrp.run_loop(1) == (False, [])
        nrp.set_proto_datapack("test", "test", enginetest_pb2.TestPayload(integer=555))
        nrp.reset()
        assert nrp.current_state() == "Initialized"
        assert nrp.run_loop(2) == (False, [])


def test_datapacks_sent_with_reset_reach_the_engines_before_they_reset(tmp_path):
    experiment = write_experiment(tmp_path / "exp", )
    with NrpCore(free_address("localhost"), experiment_folder=experiment, server_timeout=30) as nrp:
        nrp.initialize()
        nrp.run_loop(2)
        nrp.set_json_datapack("actions", "one", {"test_reset": 987})
        reset = states(nrp.reset())
    assert reset["one"]["reset_saw"] == {"test_reset": 987}
    assert reset["two"]["reset_saw"] is None


def test_datapacks_waiting_for_their_engines_sync_are_delivered_before_the_reset(tmp_path):
    experiment = write_experiment(tmp_path / "exp", )
    with NrpCore(free_address("localhost"), experiment_folder=experiment, server_timeout=30) as nrp:
        nrp.initialize()
        nrp.run_loop(1)
        # At 10 ms only "one" syncs; "two" (20 ms steps) would take it at 20 ms.
        nrp.set_json_datapack("actions", "two", {"waiting": True})
        nrp.run_loop(1)
        reset = states(nrp.reset())
    assert reset["two"]["reset_saw"] == {"waiting": True}


def test_an_unreadable_datapack_is_refused_and_the_simulation_goes_on(tmp_path, core_env):
    experiment = write_experiment(tmp_path / "exp", )
    address = free_address("localhost")
    server = start_server(experiment, address, core_env)
    channel, stub = connected_stub(address)
    try:
        stub.initialize(nrp_server_pb2.EmptyMessage(), timeout=30)
        broken = engine_grpc_pb2.DataPackMessage()
        broken.dataPackId.dataPackName, broken.dataPackId.engineName = "actions", "one"
        broken.data.Pack(nrp_server_pb2.JsonMessage(data="{not json"))
        request = nrp_server_pb2.RunLoopMessage(numIterations=1)
        request.dataPacks.jsonDataPacks.append(broken)
        with pytest.raises(grpc.RpcError) as refused:
            stub.runLoop(request, timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "'actions'" in refused.value.details() and "not valid JSON" in refused.value.details()
        reply = stub.runLoop(nrp_server_pb2.RunLoopMessage(numIterations=1), timeout=30)
        assert reply.simState.currentState == "Stopped"
        stub.shutdown(nrp_server_pb2.EmptyMessage(), timeout=30)
    finally:
        channel.close()
    server.communicate(timeout=30)
    assert server.returncode == 0


# -- observations -----------------------------------------------------------------------------------

def test_status_function_returns_protobuf_raw_data_in_order(tmp_path):
    from nrp_protobuf import dump_pb2

    experiment = write_experiment(tmp_path / "exp", raw_data_status=True)
    with NrpCore(free_address("localhost"), experiment_folder=experiment, server_timeout=30) as nrp:
        nrp.initialize()
        done, timed_out, trajectory = nrp.run_until_timeout()
    assert (done, timed_out) == (True, False)
    expected = []
    for i in range(3):
        expected += [{"i": i}, enginetest_pb2.TestPayload(integer=i), dump_pb2.String(string_stream=f"step {i}")]
    assert trajectory == expected
