"""Addresses of engines started by hand: a bracketed IPv6 ServerAddress ("[::1]:9102") reaches JSON
and gRPC engines alike, and an engine told to serve on a taken port refuses to start (a launched
engine takes a free port and registers it; one started by hand tells nobody, so the simulation
would talk to whatever holds the port)."""

import socket
import subprocess

import pytest

from tests.conftest import BIN_DIR
from tests.engines.nrpcoresim.remote.conftest import point_config_at, received_steps, run_nrpcoresim
from tests.ports import free_port


def has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.timeout(120)
@pytest.mark.skipif(not has_ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_engines_started_elsewhere_are_reached_over_ipv6(remote_engines, experiment, core_env):
    json_engine = remote_engines.start("python_json", "python_1", "[::1]")
    grpc_engine = remote_engines.start("python_grpc", "python_2", "[::1]")
    point_config_at(experiment, {"python_1": json_engine.address, "python_2": grpc_engine.address},
                    SimulationTimeout=0.1)

    result = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)

    assert result.returncode == 0, result.stderr
    assert len(received_steps(grpc_engine)) == 10


@pytest.mark.timeout(60)
@pytest.mark.parametrize("command", ["nrp-python-json-engine", "nrp-python-grpc-engine"])
def test_an_engine_started_by_hand_on_a_taken_port_refuses_to_start(command, experiment, core_env):
    port = free_port("127.0.0.1")
    with socket.socket() as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        command_line = [str(BIN_DIR / command), "--engine=python_1", f"--serverurl=127.0.0.1:{port}"]
        engine = subprocess.Popen(command_line,
                                  cwd=experiment, env=core_env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        try:
            _, stderr = engine.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            engine.kill()
            _, stderr = engine.communicate()
            pytest.fail(f"the engine serves elsewhere than {port}, where nobody will look:\n{stderr}")
    assert engine.returncode == 1, stderr
    assert f"cannot serve on 127.0.0.1:{port}" in stderr
