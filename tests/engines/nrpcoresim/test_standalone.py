"""NRPCoreSim in standalone mode on the shipped experiments, as a real process with real engines."""

import re
import subprocess

import pytest

from tests.conftest import BIN_DIR, EXPERIMENTS
from tests.ports import free_port

pytestmark = pytest.mark.usefixtures("no_leftover_processes")


def run_nrpcoresim(*args, cwd, env, timeout=60):
    return subprocess.run([str(BIN_DIR / "NRPCoreSim"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("config", ["simulation_config.json", "simulation_config_grpc.json"])
def test_tf_exchange_runs_to_timeout_and_engine_2_receives_engine_1s_datapack_each_step(config, core_env):
    result = run_nrpcoresim("-c", config, cwd=EXPERIMENTS / "tf_exchange", env=core_env)

    assert result.returncode == 0, result.stderr
    received = re.findall(r"python_2 at (\d+) ns received (.*)", result.stdout)
    # SimulationTimeout 1 s at 10 ms: engine 2 steps 100 times, and at each step holds what engine 1
    # published one step earlier (the TF copies it at the sync, before engine 2 steps).
    assert len(received) == 100
    for engine_time, payload in received:
        expected = int(engine_time) - 10_000_000
        assert f"{expected}" in payload, (engine_time, payload)


@pytest.mark.timeout(60)
def test_dash_d_runs_from_the_experiment_directory_and_log_goes_to_the_log_file(tmp_path, core_env):
    log_file = "nrpcore.log"
    result = run_nrpcoresim("-c", "simulation_config.json", "-d", str(EXPERIMENTS / "tf_exchange"),
                            "--logoutput=all", f"--logfilename={tmp_path / log_file}", cwd=tmp_path, env=core_env)

    assert result.returncode == 0, result.stderr
    logged = (tmp_path / log_file).read_text()
    assert logged.count("python_2 at") == 100
    assert "simulation ended at t=1.000 s (timeout)" in logged


@pytest.mark.timeout(60)
def test_overrides_change_the_timeout(core_env):
    result = run_nrpcoresim("-c", "simulation_config.json", "-o", "SimulationTimeout=0.2",
                            cwd=EXPERIMENTS / "tf_exchange", env=core_env)

    assert result.returncode == 0, result.stderr
    assert len(re.findall(r"python_2 at \d+ ns received", result.stdout)) == 20


@pytest.mark.timeout(60)
def test_a_bad_config_fails_before_any_engine_starts_and_names_the_key(tmp_path, core_env):
    result = run_nrpcoresim("-c", str(EXPERIMENTS / "tf_exchange" / "simulation_config.json"),
                            "-o", 'EngineConfigs.1.EngineTimestep="fast"', cwd=tmp_path, env=core_env)

    assert result.returncode == 2
    assert "EngineConfigs[1].EngineTimestep" in result.stderr
    assert "Engine 1 is initializing" not in result.stdout


@pytest.mark.timeout(60)
def test_two_simulations_of_the_same_config_run_side_by_side(core_env):
    commands = [[str(BIN_DIR / "NRPCoreSim"), "-c", "simulation_config_grpc.json", "-o", "SimulationTimeout=0.5"]
                for _ in range(2)]
    processes = [subprocess.Popen(command, cwd=EXPERIMENTS / "tf_exchange", env=core_env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for command in commands]
    outputs = [process.communicate(timeout=50) for process in processes]

    for process, (stdout, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr
        assert len(re.findall(r"python_2 at \d+ ns received", stdout)) == 50


@pytest.mark.timeout(60)
def test_slave_server_ignores_sigint_and_exits_cleanly_on_sigterm(core_env, tmp_path):
    import signal
    import socket

    port = free_port()
    server = subprocess.Popen([str(BIN_DIR / "NRPCoreSim"), "-c", "simulation_config.json", "-m", "server",
                               "--server_address", f"localhost:{port}", "--slave"],
                              cwd=EXPERIMENTS / "tf_exchange", env=core_env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        for line in server.stderr:
            if "listening" in line:
                break
        else:
            pytest.fail(f"NRPCoreSim ended (status {server.wait()}) before it listened")
        # Ignored outright, not handled: the kernel drops the signal as it is sent, and the server
        # still answers afterwards.
        assert signal.SIGINT in ignored_signals(server.pid)
        server.send_signal(signal.SIGINT)
        socket.create_connection(("localhost", port), timeout=5).close()
        assert server.poll() is None

        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=5) == 0
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stderr.close()


def ignored_signals(pid: int) -> set[int]:
    """The signals process `pid` ignores (SIG_IGN), from the SigIgn mask of /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as status:
        mask = next(int(line.split()[1], 16) for line in status if line.startswith("SigIgn:"))
    return {number for number in range(1, 65) if mask & (1 << (number - 1))}
