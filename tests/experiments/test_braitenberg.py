"""The Braitenberg vehicle through NRPCoreSim, then through the REST API of a real Jupyter server:
MuJoCo (py_sim) and NEST (nest_json) in closed loop.

The vehicle engine prints its pose every half second of simulated time; the tests read those
lines. The runs are deterministic (NestRNGSeed, MuJoCo), but the assertions only ask for what a
Braitenberg vehicle 2b must do: turn towards the side it sees the pillar on, and close in on it.
"""

import re
import shutil
import subprocess

import pytest

from engines.client import NrpCore
from tests.conftest import BIN_DIR, EXPERIMENTS
from tests.live_server import free_port

pytestmark = pytest.mark.usefixtures("no_leftover_processes")

EXPERIMENT = EXPERIMENTS / "braitenberg_mujoco"
POSE = re.compile(r"vehicle t=(?P<t>[\d.]+) x=(?P<x>-?[\d.]+) y=(?P<y>-?[\d.]+) yaw=(?P<yaw>-?[\d.]+) "
                  r"bearing_error=(?P<bearing_error>-?[\d.]+) distance=(?P<distance>[\d.]+)")
# Touching: the pillar's radius (0.25 m) plus the chassis' half length (0.15 m), and some slack.
TOUCHING_M = 0.6


def run(*overrides, env):
    args = [str(BIN_DIR / "NRPCoreSim"), "-c", "simulation_config.json"]
    for override in overrides:
        args += ["-o", override]
    result = subprocess.run(args, cwd=EXPERIMENT, env=env, capture_output=True, text=True, timeout=150)
    return result, poses_in(result.stdout)


def poses_in(text: str) -> list[dict]:
    return [{key: float(value) for key, value in match.groupdict().items()} for match in POSE.finditer(text)]


def target(x, y):
    return f"EngineConfigs.EngineName:vehicle.EngineExtraConfigs.Target=[{x},{y}]"


def at(poses, t):
    return next(pose for pose in poses if abs(pose["t"] - t) < 1e-6)


@pytest.mark.timeout(180)
def test_the_vehicle_turns_towards_a_pillar_on_its_left_and_reaches_it(core_env):
    result, poses = run(env=core_env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert "simulation ended at t=6.000 s (timeout)" in result.stderr
    assert [pose["t"] for pose in poses] == [i * 0.5 for i in range(13)]
    start, end = poses[0], poses[-1]
    assert start["bearing_error"] == pytest.approx(26.6, abs=0.1)  # the pillar is 26.6 degrees to the left
    # It turns left, towards the pillar, and keeps it ahead while it drives up to it.
    assert at(poses, 1.0)["yaw"] > 5.0
    assert all(abs(pose["bearing_error"]) < abs(start["bearing_error"]) for pose in poses[1:])
    assert end["distance"] < TOUCHING_M < start["distance"]
    distances = [pose["distance"] for pose in poses]
    assert all(later <= earlier + 0.01 for earlier, later in zip(distances, distances[1:]))


@pytest.mark.timeout(180)
def test_with_the_pillar_on_its_right_it_turns_right(core_env):
    result, poses = run(target(3.0, -1.5), env=core_env)

    assert result.returncode == 0, result.stderr[-3000:]
    start, end = poses[0], poses[-1]
    assert start["bearing_error"] == pytest.approx(-26.6, abs=0.1)
    assert at(poses, 1.0)["yaw"] < -5.0
    assert all(abs(pose["bearing_error"]) < abs(start["bearing_error"]) for pose in poses[1:])
    assert end["distance"] < TOUCHING_M < start["distance"]


@pytest.mark.timeout(180)
def test_with_the_pillar_out_of_sight_it_cruises_straight_on(core_env):
    # Behind the vehicle: its eyes see nothing, the brain stays silent and both wheels cruise.
    result, poses = run(target(-3.0, 0.5), env=core_env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert all(abs(pose["yaw"]) < 1.0 for pose in poses)
    assert poses[-1]["x"] > 2.0
    assert poses[-1]["distance"] > poses[0]["distance"] + 2.0


@pytest.mark.timeout(180)
def test_a_bad_target_fails_the_launch_naming_the_key(core_env):
    result, poses = run("EngineConfigs.EngineName:vehicle.EngineExtraConfigs.Target=[3.0]", env=core_env)

    assert result.returncode == 1
    assert poses == []
    assert "EngineExtraConfigs.Target must be [x, y], got [3.0]" in result.stderr
    assert "vehicle_engine.py" in result.stderr


@pytest.mark.timeout(180)
def test_after_a_reset_the_run_is_the_same_again(tmp_path, core_env, monkeypatch):
    # Server mode, as an experiment kernel drives it: 2 s, a reset, 2 s again. The reset puts the
    # vehicle and the pillar back and reruns the brain with its seed, so the trajectory repeats.
    monkeypatch.setenv("PATH", core_env["PATH"])
    log = tmp_path / "nrpcore.log"
    client = NrpCore(f"localhost:{free_port()}", experiment_folder=str(EXPERIMENT), log_output=str(log))
    try:
        client.initialize()
        client.run_loop(100)
        client.reset()
        client.run_loop(100)
    finally:
        client.shutdown()

    poses = poses_in(log.read_text())
    times = [pose["t"] for pose in poses]
    assert times == [i * 0.5 for i in range(5)] * 2
    first, second = poses[:5], poses[5:]
    assert second == first
    assert first[-1]["distance"] < first[0]["distance"] - 1.0


def run_through_rest(server, experiment) -> list[dict]:
    """Launches, starts, waits for completion and stops `experiment`; the poses in its logs."""
    status, record = server.call("POST", "simulation", body={"experimentID": experiment})
    assert status == 201, record
    simulation_id = str(record["simulationID"])
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})[0] == 200
    server.wait_state(simulation_id, "completed", timeout=90)
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "stopped"})[0] == 200
    server.wait_state(simulation_id, "stopped", timeout=30)
    status, logs = server.call("GET", "simulation", simulation_id, "logs")
    assert status == 200
    return poses_in("\n".join(log_file["content"] for log_file in logs["files"]))


@pytest.mark.timeout(180)
def test_through_rest_in_an_experiment_kernel_the_vehicle_reaches_the_pillar(live_server_quiet):
    poses = run_through_rest(live_server_quiet, "braitenberg_mujoco")

    assert poses[0]["t"] == 0.0 and poses[-1]["t"] == 6.0
    assert at(poses, 1.0)["yaw"] > 5.0
    assert poses[-1]["distance"] < TOUCHING_M < poses[0]["distance"]


@pytest.mark.timeout(120)
def test_through_rest_a_broken_brain_fails_the_launch_naming_file_and_line(live_server_quiet):
    server = live_server_quiet
    experiment = server.root / "experiments" / "braitenberg_mujoco_broken_brain"
    shutil.copytree(server.root / "experiments" / "braitenberg_mujoco", experiment, dirs_exist_ok=True)
    brain = (experiment / "brain.py").read_text()
    second_motor = 'bd.LeakyIntegratorAlpha(nest, "right_motor", left_sensors)'
    twice = second_motor.replace("right", "left", 1)  # the same datapack name as the first motor's
    (experiment / "brain.py").write_text(brain.replace(second_motor, twice))
    line = brain[:brain.index(second_motor)].count("\n") + 1

    status, body = server.call("POST", "simulation", body={"experimentID": "braitenberg_mujoco_broken_brain"})

    assert status == 500
    assert f'Engine "nest": initialize failed in brain.py, line {line}, in <module>' in body["message"]
    assert 'datapack "left_motor" is already registered' in body["message"]
