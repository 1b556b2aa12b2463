"""The Gymnasium simulator ("OpenAI") through SimulatorManager, on real environments in this process."""

import logging

import pytest

from engines.servers.simulators.base import ActionError, PropertyError, SimulatorError, WorldFileError
from engines.servers.simulators.manager import SimulatorManager

STEP_NS = 20_000_000  # CartPole's own 0.02 s


def gym_config(env_id="CartPole-v1", timestep=0.02, **extra) -> dict:
    return {"EngineName": "gym", "EngineType": "py_sim", "Simulator": "OpenAI", "WorldFileName": env_id,
            "EngineTimestep": timestep, "EngineExtraConfigs": extra}


@pytest.fixture
def cartpole():
    manager = SimulatorManager(gym_config(Seed=7))
    yield manager
    manager.shutdown()


def test_the_properties_are_nrp_cores_four_plus_gymnasiums_two_halves_of_done(cartpole):
    assert cartpole.get_model_properties("Property") == ["observation", "reward", "doneFlag", "trainInfo",
                                                         "terminated", "truncated"]
    before = cartpole.get_model_all_properties("Property")
    assert len(before["observation"]) == 4 and all(abs(v) <= 0.05 for v in before["observation"])
    assert before["reward"] is None and before["doneFlag"] is None


def test_each_step_is_one_environment_step_whatever_the_engine_timestep(cartpole):
    for _ in range(3):
        done = cartpole.run_step(1, STEP_NS)

    assert done is False
    assert cartpole.get_sim_time() == pytest.approx(0.06)
    assert cartpole.get_model_property("reward", "Property") == 1.0
    # Pushed right three times, the cart moves right (x_dot > 0) and the pole tips left (theta_dot < 0).
    x, x_dot, theta, theta_dot = cartpole.get_model_property("observation", "Property")
    assert x_dot > 0 and theta_dot < 0


def test_pushing_one_way_drops_the_pole_and_a_new_episode_starts_at_once(cartpole):
    steps = 0
    while not cartpole.run_step(1, STEP_NS):
        steps += 1
        assert steps < 200, "the pole should fall long before CartPole-v1's 500-step limit"

    assert cartpole.get_model_property("doneFlag", "Property") is True
    assert cartpole.get_model_property("terminated", "Property") is True
    assert cartpole.get_model_property("truncated", "Property") is False
    # nrp-core's behaviour: the observation is already the next episode's first, near upright.
    assert all(abs(v) <= 0.05 for v in cartpole.get_model_property("observation", "Property"))


def test_the_same_seed_gives_the_same_run():
    runs = []
    for _ in range(2):
        manager = SimulatorManager(gym_config(Seed=3))
        runs.append([manager.get_model_property("observation", "Property")]
                    + [(manager.run_step(i % 2, STEP_NS), manager.get_model_property("observation", "Property"))
                       for i in range(20)])
        manager.shutdown()
    assert runs[0] == runs[1]


def test_actions_arrive_as_json_numbers_and_one_element_lists(cartpole):
    cartpole.run_step(1.0, STEP_NS)
    cartpole.run_step([0], STEP_NS)

    assert cartpole.sim_interface.action == [0]


def test_reset_returns_the_first_observation_and_time_zero(cartpole):
    for _ in range(5):
        cartpole.run_step(0, STEP_NS)
    observation = cartpole.reset()

    assert cartpole.get_sim_time() == 0.0
    assert observation == cartpole.get_model_property("observation", "Property")
    assert all(abs(v) <= 0.05 for v in observation)


def test_a_continuous_action_space_takes_a_list():
    pendulum = SimulatorManager(gym_config("Pendulum-v1", timestep=0.05, Seed=0))
    try:
        pendulum.run_step([1.5], 50_000_000)
        assert len(pendulum.get_model_property("observation", "Property")) == 3
        with pytest.raises(ActionError, match=r"does not fit the action space Box"):
            pendulum.run_step([1.0, 2.0], 50_000_000)
    finally:
        pendulum.shutdown()


@pytest.mark.parametrize("action, message", [
    (None, "CartPole-v1 needs an action at every step (its action space is Discrete(2))"),
    (2, "action 2 is not in the action space Discrete(2) of CartPole-v1"),
    (0.5, "action 0.5 does not fit the action space Discrete(2)"),
    ("left", "action 'left' does not fit the action space Discrete(2)"),
])
def test_bad_actions_say_what_the_action_space_is(cartpole, action, message):
    with pytest.raises(ActionError) as caught:
        cartpole.run_step(action, STEP_NS)
    assert message in str(caught.value)


def test_wrong_property_types_and_names_are_value_errors(cartpole):
    with pytest.raises(PropertyError, match=r"Wrong Type 'Joint'. Supported property type is 'Property'"):
        cartpole.get_model_property("observation", "Joint")
    with pytest.raises(PropertyError, match=r"'score' is not a property; they are \['observation'"):
        cartpole.get_model_property("score", "Property")
    with pytest.raises(ValueError):
        cartpole.get_model_all_properties("Link")


def test_an_unknown_environment_id_names_it():
    with pytest.raises(WorldFileError, match=r'WorldFileName "CartPole-v99": not a Gymnasium environment id'):
        SimulatorManager(gym_config("CartPole-v99"))
    with pytest.raises(WorldFileError, match=r'WorldFileName "NoSuchWorld-v0": not a Gymnasium environment id'):
        SimulatorManager(gym_config("NoSuchWorld-v0"))


def test_a_seed_that_is_not_an_integer_is_refused():
    with pytest.raises(SimulatorError, match=r"EngineExtraConfigs.Seed must be an integer, got '7'"):
        SimulatorManager(gym_config(Seed="7"))


def test_an_engine_timestep_other_than_the_environments_is_warned_about(caplog):
    with caplog.at_level(logging.WARNING):
        SimulatorManager(gym_config(timestep=0.01)).shutdown()
    assert "CartPole-v1 steps 0.02 s of its own time per step; EngineTimestep is 0.01 s" in caplog.text
