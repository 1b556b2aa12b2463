"""NRPCoreSim standalone with engines started beforehand by hand (EmptyLaunchCommand), as real
processes on real sockets, on loopback and on another interface of this machine."""

import json
import re
import signal
import socket

import pytest

from tests.engines.nrpcoresim.remote.conftest import (point_config_at, received_steps, run_nrpcoresim, start_nrpcoresim,
                                                     steps_while_running)

pytestmark = pytest.mark.timeout(120)


def start_both(remote_engines, host):
    return (remote_engines.start("python_json", "python_1", host),
            remote_engines.start("python_grpc", "python_2", host))


def test_engines_started_by_hand_run_the_experiment_and_exit_after_its_shutdown(
        remote_engines, experiment, machine_host, core_env):
    json_engine, grpc_engine = start_both(remote_engines, machine_host)
    point_config_at(experiment, {"python_1": json_engine.address, "python_2": grpc_engine.address})

    result = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)

    assert result.returncode == 0, result.stderr
    steps = received_steps(grpc_engine)
    # SimulationTimeout 1 s at 10 ms; at each step engine 2 holds what engine 1 published one step earlier.
    assert len(steps) == 100
    assert all(received == now - 10_000_000 for now, received in steps), steps[:3]
    # nrp-core's shutdown request is all an engine it did not start gets; ours exit after answering it.
    for engine in (json_engine, grpc_engine):
        assert engine.wait_exit() == 0, engine.stderr()
        assert "stopping: shutdown request" in engine.stderr()
    assert "Engine 1 is shutting down" in json_engine.stdout()
    assert "Engine 2 is shutting down" in grpc_engine.stdout()


def test_a_second_simulation_does_not_reuse_the_engines_of_the_first_but_runs_once_they_are_restarted(
        remote_engines, experiment, core_env):
    host = "127.0.0.1"
    json_engine, grpc_engine = start_both(remote_engines, host)
    point_config_at(experiment, {"python_1": json_engine.address, "python_2": grpc_engine.address},
                    SimulationTimeout=0.1)
    assert run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env).returncode == 0
    for engine in (json_engine, grpc_engine):
        assert engine.wait_exit() == 0

    second = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)

    assert second.returncode == 1
    # Both engines are gone; whichever NRPCoreSim finds missing first is named. (Another test may take
    # one of the freed ports meanwhile, so it is not always the first engine.)
    assert any(f'Engine "{name}": nothing answers at its ServerAddress {engine.address}' in second.stderr
               for name, engine in (("python_1", json_engine), ("python_2", grpc_engine))), second.stderr

    # The same commands on the same ports bring them back for the next simulation.
    for engine in (json_engine, grpc_engine):
        port = int(engine.address.rpartition(":")[2])
        engine_type = "python_json" if engine is json_engine else "python_grpc"
        remote_engines.start(engine_type, engine.name, host, port)
    third = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)
    assert third.returncode == 0, third.stderr
    assert len(received_steps(remote_engines.engines[-1])) == 10


def test_nobody_listening_at_server_address_fails_the_launch_naming_engine_address_and_command(
        remote_engines, experiment, machine_host, core_env):
    json_engine = remote_engines.start("python_json", "python_1", machine_host)
    with socket.socket() as reserved:
        # A port that was free a moment ago and that nothing listens on: connections are refused.
        reserved.bind((machine_host, 0))
        silent_address = f"{machine_host}:{reserved.getsockname()[1]}"
        point_config_at(experiment, {"python_1": json_engine.address, "python_2": silent_address})

        result = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment,
                                env={**core_env, "NRP_ENGINE_CONNECT_TIMEOUT": "3"})

    assert result.returncode == 1
    assert (f'Engine "python_2": nothing answers at its ServerAddress {silent_address} within 3 s '
            f"(Connection refused)") in result.stderr
    assert f"nrp-python-grpc-engine --engine=python_2 --serverurl={silent_address}" in result.stderr
    # 3 s of trying (20 s without the variable), then the engine that did answer is shut down, as at
    # the end of any simulation.
    assert json_engine.wait_exit() == 0


def test_a_connect_timeout_that_is_no_positive_number_fails_the_launch_naming_the_variable(
        remote_engines, experiment, core_env):
    engines = start_both(remote_engines, "127.0.0.1")
    point_config_at(experiment, {engine.name: engine.address for engine in engines})

    result = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment,
                            env={**core_env, "NRP_ENGINE_CONNECT_TIMEOUT": "soon"})

    assert result.returncode == 1
    assert ('Engine "python_1": $NRP_ENGINE_CONNECT_TIMEOUT must be a positive number of seconds, '
            "not 'soon'") in result.stderr, result.stderr


def test_a_host_name_that_does_not_resolve_fails_at_once(remote_engines, experiment, core_env):
    point_config_at(experiment, {"python_1": "no-such-host.invalid:9102",
                                 "python_2": "no-such-host.invalid:9104"})

    result = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)

    assert result.returncode == 1
    assert re.search(r'Engine "python_\d": nothing answers at its ServerAddress no-such-host.invalid:910\d '
                     r"\(cannot resolve host 'no-such-host.invalid'", result.stderr), result.stderr
    # At once: the launch gave up on the name, before its 20 s of trying were over.
    assert "within 20 s" not in result.stderr


@pytest.mark.parametrize("victim", ["python_1", "python_2"])
def test_an_engine_that_dies_mid_run_fails_the_simulation_naming_it_and_its_address(
        remote_engines, experiment, machine_host, core_env, victim):
    engines = dict(zip(["python_1", "python_2"], start_both(remote_engines, machine_host)))
    # No timeout: the run lasts until an engine fails.
    point_config_at(experiment, {name: engine.address for name, engine in engines.items()},
                    SimulationTimeout=0)
    simulation = start_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)
    steps_while_running(simulation, engines["python_2"], 20)
    engines[victim].process.kill()
    _, stderr = simulation.communicate(timeout=30)

    assert simulation.returncode == 1
    assert (f'Engine "{victim}": the engine at {engines[victim].address}, started outside the simulation '
            f"(EmptyLaunchCommand), no longer answers: Connection refused") in stderr
    # The engine that still runs is shut down as at the end of any simulation.
    (survivor,) = (engine for name, engine in engines.items() if name != victim)
    assert survivor.wait_exit() == 0


def test_registration_server_address_is_ignored_when_no_engine_is_launched(
        remote_engines, experiment, core_env):
    json_engine, grpc_engine = start_both(remote_engines, "127.0.0.1")
    path = point_config_at(experiment, {"python_1": json_engine.address, "python_2": grpc_engine.address},
                           SimulationTimeout=0.1)
    # An address no registration server could listen on: nrp-core waits for a registration only from
    # an engine it launched, and so does NRPCoreSim here, which opens no registration server at all.
    unusable = '"PythonFileName": "engine_1.py", "RegistrationServerAddress": "nowhere"'
    path.write_text(path.read_text().replace('"PythonFileName": "engine_1.py"', unusable))

    result = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)

    assert result.returncode == 0, result.stderr
    assert len(received_steps(grpc_engine)) == 10


def test_a_launched_engine_and_an_engine_started_by_hand_run_together(remote_engines, experiment, core_env):
    grpc_engine = remote_engines.start("python_grpc", "python_2", "127.0.0.1")
    path = point_config_at(experiment, {"python_2": grpc_engine.address}, SimulationTimeout=0.1)
    # python_1 is launched by NRPCoreSim and registers as usual; python_2 is reached at its address.
    config = json.loads(path.read_text())
    config["EngineConfigs"][0]["EngineLaunchCommand"] = {"LaunchType": "BasicFork"}
    path.write_text(json.dumps(config))

    result = run_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)

    assert result.returncode == 0, result.stderr
    assert len(received_steps(grpc_engine)) == 10
    assert "Engine 1 is shutting down" in result.stdout
    assert grpc_engine.wait_exit() == 0


def test_an_engine_that_stops_answering_fails_the_step_after_its_command_timeout_and_is_left_alone(
        remote_engines, experiment, core_env):
    json_engine, grpc_engine = start_both(remote_engines, "127.0.0.1")
    path = point_config_at(experiment, {"python_1": json_engine.address, "python_2": grpc_engine.address},
                           SimulationTimeout=0)
    config = json.loads(path.read_text())
    config["EngineConfigs"][1]["EngineCommandTimeout"] = 2
    path.write_text(json.dumps(config))
    simulation = start_nrpcoresim("-c", "simulation_config.json", cwd=experiment, env=core_env)
    steps_while_running(simulation, grpc_engine, 20)

    # What a machine that vanished without closing its connections looks like from here.
    grpc_engine.process.send_signal(signal.SIGSTOP)
    try:
        _, stderr = simulation.communicate(timeout=40)

        assert simulation.returncode == 1
        assert ('Engine "python_2": loop is taking too long to complete (EngineCommandTimeout 2.0 s exceeded)'
                in stderr)
        # Not ours to stop: the hung engine gets neither a shutdown request nor a signal.
        assert grpc_engine.process.poll() is None
        assert json_engine.wait_exit() == 0
    finally:
        grpc_engine.process.send_signal(signal.SIGCONT)
