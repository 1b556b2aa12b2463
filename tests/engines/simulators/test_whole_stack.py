"""The cartpole and bullet_pendulum experiments launched, run and stopped through the REST API of a
real Jupyter server (tests/live_server.py), each in its own experiment kernel."""

import shutil

import pytest

from tests.engines.simulators.test_experiments import CARTPOLE_SUMMARY, PENDULUM_SUMMARY

pytestmark = pytest.mark.timeout(120)


def logged_text(server, simulation_id) -> str:
    status, logs = server.call("GET", "simulation", str(simulation_id), "logs")
    assert status == 200
    return "\n".join(log_file["content"] for log_file in logs["files"])


def run_through_rest(server, experiment, configuration="simulation_config.json") -> str:
    """Launches, starts, waits for completion, stops; the simulation's logs."""
    status, record = server.call("POST", "simulation", body={"experimentID": experiment,
                                                              "experimentConfiguration": configuration})
    assert status == 201, record
    simulation_id = record["simulationID"]
    assert record["state"] == "paused"

    assert server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "started"})[0] == 200
    server.wait_state(simulation_id, "completed", timeout=60)
    assert server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "stopped"})[0] == 200
    server.wait_state(simulation_id, "stopped", timeout=30)
    return logged_text(server, simulation_id)


def test_cartpole_runs_to_its_timeout_through_rest_with_the_pole_up_all_along(live_server_quiet):
    logs = run_through_rest(live_server_quiet, "cartpole")
    longest, _, falls, _, time_s = CARTPOLE_SUMMARY.search(logs).groups()

    assert (int(longest), int(falls), float(time_s)) == (500, 0, 10.0)


def test_random_cartpole_through_rest_drops_the_pole(live_server_quiet):
    logs = run_through_rest(live_server_quiet, "cartpole", "simulation_config_random.json")
    longest, _, falls, _, _ = CARTPOLE_SUMMARY.search(logs).groups()

    assert int(falls) >= 5 and int(longest) < 500


def test_the_pendulum_reaches_its_target_through_rest(live_server_quiet):
    logs = run_through_rest(live_server_quiet, "bullet_pendulum")
    angle, target, velocity, *_ = map(float, PENDULUM_SUMMARY.search(logs).groups())

    assert angle == pytest.approx(target, abs=0.005) and abs(velocity) < 0.005


def test_a_missing_world_file_fails_the_launch_naming_it(live_server_quiet):
    server = live_server_quiet
    experiment = server.root / "experiments" / "bullet_pendulum_broken"
    shutil.copytree(server.root / "experiments" / "bullet_pendulum", experiment, dirs_exist_ok=True)
    (experiment / "pendulum.urdf").unlink()
    status, body = server.call("POST", "simulation", body={"experimentID": "bullet_pendulum_broken"})

    # The launch answers once the engine has refused to initialize: the message names engine, script and file.
    assert status == 500
    assert ('Engine "pendulum": initialize failed (script pendulum_engine.py): WorldFileError: '
            'WorldFileName "pendulum.urdf": file not found') in body["message"]
    records = live_server_quiet.call("GET", "simulation")[1]
    assert [r["state"] for r in records if r["experimentID"] == "bullet_pendulum_broken"] == ["failed"]
