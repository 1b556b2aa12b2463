"""Engines started by hand, reached at their ServerAddress, through the Jupyter server's REST API
(the session's `live_server`): launch, start, stop, and the failures a user sees."""

import shutil
import uuid

import psutil
import pytest

from tests.conftest import copy_experiment_folder
from tests.engines.nrpcoresim.remote.conftest import EXPERIMENT, RemoteEngines, point_config_at, received_steps
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def served_experiment(live_server_quiet):
    """A copy of tf_exchange_remote in the server's storage, under a name of its own."""
    experiment_id = f"tf_exchange_remote_{uuid.uuid4().hex[:8]}"
    folder = live_server_quiet.root / "experiments" / experiment_id
    copy_experiment_folder(EXPERIMENT, folder, ignore=("*.log*", "*.zip"))
    yield experiment_id, folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def engines_by_hand(served_experiment, tmp_path, core_env):
    # Started in the experiment's folder, where their scripts are, as on the engines' own machine.
    engines = RemoteEngines(served_experiment[1], tmp_path, core_env)
    yield engines
    engines.close()


def nrpcoresims_of(server) -> list[psutil.Process]:
    try:
        children = psutil.Process(server.process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    found = []
    for child in children:
        try:
            if any("NRPCoreSim" in part for part in child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            continue
    return found


def simulation_of(server, experiment_id) -> dict:
    [record] = [r for r in server.call("GET", "simulation")[1] if r["experimentID"] == experiment_id]
    return server.call("GET", "simulation", str(record["simulationID"]), "details")[1]


def test_launch_start_and_stop_through_rest_with_engines_started_by_hand(
        live_server_quiet, served_experiment, engines_by_hand, machine_host):
    server, (experiment_id, folder) = live_server_quiet, served_experiment
    json_engine = engines_by_hand.start("python_json", "python_1", machine_host)
    grpc_engine = engines_by_hand.start("python_grpc", "python_2", machine_host)
    point_config_at(folder, {"python_1": json_engine.address, "python_2": grpc_engine.address})

    code, record = server.call("POST", "simulation", body={"experimentID": experiment_id})
    assert code == 201, record
    simulation_id = str(record["simulationID"])
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})[0] == 200
    server.wait_state(simulation_id, "completed", timeout=60)
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "stopped"})[0] == 200

    steps = received_steps(grpc_engine)
    assert len(steps) == 100 and all(received == now - 10_000_000 for now, received in steps)
    # The stop shuts NRPCoreSim down, which sends each engine the shutdown request; they exit.
    for engine in (json_engine, grpc_engine):
        assert engine.wait_exit() == 0, engine.stderr()


def test_a_launch_with_nobody_listening_is_a_400_naming_engine_and_address_and_leaves_nothing_running(
        live_server_quiet, served_experiment, engines_by_hand, machine_host):
    server, (experiment_id, folder) = live_server_quiet, served_experiment
    json_engine = engines_by_hand.start("python_json", "python_1", machine_host)
    silent_address = f"{machine_host}:{free_port(machine_host)}"
    point_config_at(folder, {"python_1": json_engine.address, "python_2": silent_address})

    code, body = server.call("POST", "simulation", body={"experimentID": experiment_id})

    # The config names an engine that must be started by hand and nobody started it: fixing that is up
    # to whoever launches the experiment, so it is a client error, not the server's (kernel_ext/loading_errors.py).
    assert code == 400, body
    assert f'Engine "python_2": nothing answers at its ServerAddress {silent_address}' in body["message"]
    assert simulation_of(server, experiment_id)["state"] == "failed"
    assert json_engine.wait_exit() == 0
    eventually(lambda: not nrpcoresims_of(server), 10, "NRPCoreSim gone after the failed launch", every_s=0.1)


def test_an_engine_dying_mid_run_ends_the_simulation_with_a_runtime_error_naming_it(
        live_server_quiet, served_experiment, engines_by_hand):
    server, (experiment_id, folder) = live_server_quiet, served_experiment
    json_engine = engines_by_hand.start("python_json", "python_1", "127.0.0.1")
    grpc_engine = engines_by_hand.start("python_grpc", "python_2", "127.0.0.1")
    point_config_at(folder, {"python_1": json_engine.address, "python_2": grpc_engine.address},
                    SimulationTimeout=600)
    code, record = server.call("POST", "simulation", body={"experimentID": experiment_id})
    assert code == 201, record
    simulation_id = str(record["simulationID"])
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})[0] == 200
    eventually(lambda: len(received_steps(grpc_engine)) >= 20, 60, grpc_engine.stderr, every_s=0.05)

    grpc_engine.process.kill()

    def ended() -> dict | None:
        record = simulation_of(server, experiment_id)
        return record if record["state"] in ("completed", "failed") else None

    described = eventually(ended, 30, lambda: simulation_of(server, experiment_id), every_s=0.1)
    assert (f'Engine "python_2": the engine at {grpc_engine.address}, started outside the simulation '
            f"(EmptyLaunchCommand), no longer answers") in described["runtimeError"]["msg"], described
    server.call("PUT", "simulation", simulation_id, "state", body={"state": "stopped"})
    assert json_engine.wait_exit() == 0
