"""The Braitenberg vehicle through NRPCoreSim, then through the REST API of a real Jupyter server:
MuJoCo (py_sim) and NEST (nest_json) in closed loop.

The vehicle engine prints its pose every half second of simulated time; the tests read those
lines. The runs are deterministic (NestRNGSeed, MuJoCo), but the assertions only ask for what a
Braitenberg vehicle 2b must do: turn towards the side it sees the pillar on, and close in on it.
"""

import base64
import re
import shutil
import subprocess

import pytest

from engines.nrpcore_client import NrpCore
from tests.conftest import BIN_DIR, EXPERIMENTS
from tests.engines.servers.simulators.test_whole_stack import result_in, run_through_rest
from tests.ports import free_port

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


def camera_every(steps):
    return f"EngineConfigs.EngineName:vehicle.EngineExtraConfigs.CameraEverySteps={steps}"


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
def test_a_bad_camera_period_fails_the_launch_naming_the_key(core_env):
    result, poses = run(camera_every(-1), env=core_env)

    assert result.returncode == 1
    assert poses == []
    assert ("EngineExtraConfigs.CameraEverySteps must be a whole number of steps (0: no camera), got -1"
            in result.stderr)


@pytest.mark.timeout(180)
def test_without_the_camera_the_run_is_the_same(core_env):
    # Rendering only reads the model: the trajectory does not depend on it.
    _, with_camera = run("SimulationTimeout=1", env=core_env)
    result, without_camera = run("SimulationTimeout=1", camera_every(0), env=core_env)

    assert result.returncode == 0, result.stderr[-3000:]
    assert len(with_camera) == 3 and without_camera == with_camera


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


STREAMED = ("left_eye", "right_eye", "wheel_speeds", "distance_to_pillar", "camera")


def is_red(pixel) -> bool:
    red, green, blue = pixel
    return red > 100 and red > 3 * green and red > 3 * blue


@pytest.mark.timeout(180)
def test_through_rest_in_an_experiment_kernel_the_vehicle_reaches_the_pillar(live_server_quiet):
    run = run_through_rest(live_server_quiet, "braitenberg_mujoco", streamed=STREAMED)
    poses = poses_in(run.logs)

    assert poses[0]["t"] == 0.0 and poses[-1]["t"] == 6.0
    assert at(poses, 1.0)["yaw"] > 5.0
    assert poses[-1]["distance"] < TOUCHING_M < poses[0]["distance"]
    # The result is the pose the status function saw last, one 20 ms step before the end.
    result = result_in(run.logs)
    assert set(result) == {"distance_to_target", "initial_distance", "heading_error_deg"}
    assert result["initial_distance"] == pytest.approx(poses[0]["distance"], abs=1e-3)
    assert result["distance_to_target"] == pytest.approx(poses[-1]["distance"], abs=0.05)
    assert result["distance_to_target"] < TOUCHING_M < result["initial_distance"]
    assert abs(result["heading_error_deg"]) < abs(poses[0]["bearing_error"])


@pytest.mark.timeout(180)
def test_through_rest_the_panel_gets_the_eyes_wheels_distance_and_camera(live_server_quiet):
    run = run_through_rest(live_server_quiet, "braitenberg_mujoco", streamed=STREAMED)

    # The distance to the pillar only shrinks; the eye on the pillar's side (left) sees it, within sight.
    distances = run.values("distance_to_pillar")
    assert distances[0] > distances[-1]
    assert all(later <= earlier + 0.01 for earlier, later in zip(distances, distances[1:]))
    left = [run.values("left_eye", f"array[{ray}]") for ray in range(5)]
    assert any(0 < distance < 6 for ray in left for distance in ray)
    assert all(distance == -1 or 0 < distance <= 6 for ray in left for distance in ray)
    wheels = list(zip(run.values("wheel_speeds", "array[0]"), run.values("wheel_speeds", "array[1]")))
    assert wheels and any(right > left_speed for left_speed, right in wheels)  # it turns left, towards it
    images = run.images("camera")
    assert images and run.data["camera"][0]["type"] == "NrpGenericProto.Image"
    assert {(image["width"], image["height"], image["encoding"]) for image in images} == {(64, 48, "rgb8")}
    pixels = [base64.b64decode(image["data"]) for image in images]
    assert all(len(data) == 64 * 48 * 3 for data in pixels)
    # The pillar is red, and nothing else in the arena is.
    assert any(is_red(data[i:i + 3]) for data in pixels for i in range(0, len(data), 3))


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

    assert status == 400, body
    assert f'Engine "nest": initialize failed in brain.py, line {line}, in <module>' in body["message"]
    assert 'datapack "left_motor" is already registered' in body["message"]
