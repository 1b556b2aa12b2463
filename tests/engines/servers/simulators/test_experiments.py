"""The cartpole and bullet_pendulum experiments: through NRPCoreSim standalone to their timeout (real
processes), and through a SimulationManager in this process for the trajectories of their status
functions."""

import json
import math
import re
import subprocess

import pytest

from engines.nrpcoresim.config import load_simulation_config
from engines.datapacks import JsonDataPack
from engines.nrpcoresim.manager import SimulationManager
from tests.conftest import BIN_DIR, EXPERIMENTS

pytestmark = [pytest.mark.usefixtures("no_leftover_processes"), pytest.mark.timeout(120)]

CARTPOLE = EXPERIMENTS / "cartpole"
PENDULUM = EXPERIMENTS / "bullet_pendulum"
CARTPOLE_SUMMARY = re.compile(r"cartpole: pole up for at most (\d+) steps \(([\d.]+) s\); (\d+) falls in (\d+) "
                              r"finished episodes over ([\d.]+) s")
PENDULUM_SUMMARY = re.compile(r"pendulum: angle (-?[\d.]+) rad \(target (-?[\d.]+)\), velocity (-?[\d.]+) rad/s, "
                              r"bob at \[(-?[\d.]+), (-?[\d.]+), (-?[\d.]+)\] m, t=([\d.]+) s")
LENGTH_M, HINGE_HEIGHT_M, GRAVITY = 0.5, 1.5, 9.8


def nrpcoresim(experiment, *args, env):
    result = subprocess.run([str(BIN_DIR / "NRPCoreSim"), *args], cwd=experiment, env=env, capture_output=True,
                            text=True, timeout=100)
    return result


def cartpole_summary(config, env):
    result = nrpcoresim(CARTPOLE, "-c", config, env=env)
    assert result.returncode == 0, result.stderr
    assert "simulation ended at t=10.000 s (timeout)" in result.stderr + result.stdout
    longest, longest_s, falls, episodes, time_s = CARTPOLE_SUMMARY.search(result.stdout).groups()
    return int(longest), float(longest_s), int(falls), int(episodes), float(time_s)


def test_the_pd_controller_keeps_the_pole_up_for_the_whole_run_and_random_pushes_do_not(core_env):
    controlled = cartpole_summary("simulation_config.json", core_env)
    random = cartpole_summary("simulation_config_random.json", core_env)

    # 10 s at 0.02 s is 500 steps, CartPole-v1's episode limit: one episode, never a fall.
    assert controlled == (500, 10.0, 0, 1, 10.0)
    # At random the pole falls every second or so; its best episode is a fraction of the controller's.
    longest, _, falls, episodes, time_s = random
    assert time_s == 10.0 and falls == episodes >= 5
    assert longest * 4 < controlled[0]


def test_the_pendulum_settles_at_its_target_and_the_bob_where_geometry_puts_it(core_env):
    for target, overrides in ((1.0, []), (-0.5, ["-o", "EngineConfigs.0.EngineExtraConfigs.TargetAngle=-0.5"])):
        result = nrpcoresim(PENDULUM, "-c", "simulation_config.json", *overrides, env=core_env)
        assert result.returncode == 0, result.stderr
        angle, reported_target, velocity, x, y, z, time_s = map(float, PENDULUM_SUMMARY.search(result.stdout).groups())

        assert reported_target == target and time_s == 3.0
        assert angle == pytest.approx(target, abs=0.005) and abs(velocity) < 0.005
        assert (x, y, z) == pytest.approx((-LENGTH_M * math.sin(angle), 0.0, HINGE_HEIGHT_M - LENGTH_M * math.cos(angle)),
                                          abs=1e-3)


def test_a_bad_world_fails_the_simulation_naming_it(core_env):
    result = nrpcoresim(CARTPOLE, "-c", "simulation_config.json", "-o", 'EngineConfigs.0.WorldFileName="CartPole-v99"',
                        env=core_env)
    assert result.returncode == 1
    assert 'WorldFileName "CartPole-v99": not a Gymnasium environment id' in result.stderr + result.stdout

    result = nrpcoresim(PENDULUM, "-c", "simulation_config.json", "-o", 'EngineConfigs.0.WorldFileName="gone.urdf"',
                        env=core_env)
    assert result.returncode == 1
    assert 'WorldFileName "gone.urdf": file not found' in result.stderr + result.stdout


@pytest.fixture
def simulation(tmp_path):
    """A SimulationManager of an experiment's config (edited by `change`), torn down at the end."""
    managers = []
    engine_log = open(tmp_path / "engines.log", "w")

    def build(experiment, config_file="simulation_config.json", change=lambda config: None):
        config = load_simulation_config(experiment / config_file)
        for engine in config["EngineConfigs"]:
            engine.update(ServerAddress="127.0.0.1:0", RegistrationServerAddress="127.0.0.1:0")
        change(config)
        manager = SimulationManager(config, base_dir=experiment, engine_output=engine_log)
        managers.append(manager)
        return manager

    yield build
    for manager in managers:
        manager.teardown()
    engine_log.close()


def test_the_pd_step_response_settles_within_a_second_without_much_overshoot(simulation):
    manager = simulation(PENDULUM)
    manager.initialize()
    done, timed_out, trajectory = manager.run_until_timeout()

    assert not done and timed_out and len(trajectory) == 300
    angles = [state["angle"] for state in trajectory]
    assert max(angles) < 1.0 * 1.05
    settled = next(i for i, _ in enumerate(angles) if all(abs(a - 1.0) < 0.02 for a in angles[i:]))
    assert settled * 0.01 < 1.0
    # The controller's torque ends at what holds the bob against gravity.
    assert trajectory[-1]["torque"] == pytest.approx(1.0 * GRAVITY * LENGTH_M * math.sin(1.0), rel=0.01)


def test_without_the_controller_the_pendulum_swings_with_the_period_of_its_length(simulation):
    def free_swing(config):
        config["DataPackProcessingFunctions"] = []
        config["SimulationTimeout"] = 4
        config["EngineConfigs"][0]["EngineExtraConfigs"]["InitialAngle"] = 0.1

    manager = simulation(PENDULUM, change=free_swing)
    manager.initialize()
    _, _, trajectory = manager.run_until_timeout()

    angles = [state["angle"] for state in trajectory]
    # Upward zero crossings, interpolated between steps, one per period.
    crossings = [(i + a / (a - b)) * 0.01 for i, (a, b) in enumerate(zip(angles, angles[1:])) if a < 0 <= b]
    periods = [later - earlier for earlier, later in zip(crossings, crossings[1:])]
    expected = 2 * math.pi * math.sqrt(LENGTH_M / GRAVITY) * (1 + 0.1**2 / 16)
    assert len(periods) >= 1
    assert sum(periods) / len(periods) == pytest.approx(expected, rel=0.02)
    assert all(abs(state["torque"]) == 0 for state in trajectory)


def test_cartpole_reports_its_balance_every_step_and_reset_starts_it_over(simulation):
    manager = simulation(CARTPOLE, change=lambda config: config.update(SimulationTimeout=1))
    manager.initialize()
    _, _, trajectory = manager.run_until_timeout()

    # The status function runs at every sync, from t=0 (before the first step) to the last before 1 s.
    assert [state["steps_up"] for state in trajectory] == list(range(50))
    assert trajectory[-1]["time_s"] == pytest.approx(0.98)
    manager.reset()
    _, _, trajectory = manager.run_until_timeout()
    assert [state["steps_up"] for state in trajectory] == list(range(50))


def test_the_random_config_differs_from_the_controller_config_only_in_its_policy():
    controlled = json.loads((CARTPOLE / "simulation_config.json").read_text())
    random = json.loads((CARTPOLE / "simulation_config_random.json").read_text())

    assert controlled["EngineConfigs"] == random["EngineConfigs"]
    assert controlled["StatusFunction"] == random["StatusFunction"]
    def functions(config):
        return [function["FileName"] for function in config["DataPackProcessingFunctions"]]

    assert functions(controlled) == ["controller.py", "stream_tf.py"]
    assert functions(random) == ["random_policy.py", "stream_tf.py"]


def test_the_status_functions_report_each_step_once_the_client_asks(simulation):
    # nrp-core returns observations from run_loop only with the done flag: the main scripts set the
    # engine's `report` datapack, after which every step is done and carries the latest state.
    manager = simulation(PENDULUM)
    manager.initialize()
    assert manager.run_loop(3) == (False, [])

    ask = JsonDataPack("report", "pendulum", {"every_step": True})
    # The request reaches the engine at the next sync; the status function sees it at the one after.
    assert manager.run_loop(1, [ask]) == (False, [])
    steps = [manager.run_loop(1) for _ in range(3)]
    assert all(done for done, _ in steps)
    assert [trajectory[0]["time_s"] for _, trajectory in steps] == pytest.approx([0.04, 0.05, 0.06])
    # A reset forgets the request, as it starts the run over.
    manager.reset()
    assert manager.run_loop(2) == (False, [])

