"""The MuJoCo simulator through SimulatorManager, on a real MJCF model in this process."""

import logging
import math

import numpy as np
import pytest

from engines.servers.simulators.base import ActionError, PropertyError, SimulatorError, WorldFileError
from engines.servers.simulators.manager import SimulatorManager
from tests.engines.servers.simulators.conftest import GRAVITY, ROTOR_INERTIA, mujoco_config

STEP_NS = 10_000_000  # 10 ms


@pytest.fixture
def manager(mjcf):
    manager = SimulatorManager(mujoco_config(), base_dir=mjcf)
    yield manager
    manager.shutdown()


def test_a_free_ball_falls_as_gravity_says_and_time_advances_by_the_engine_step(manager):
    start = manager.get_model_property("ball", "body_xpos")
    for _ in range(50):
        manager.run_step(None, STEP_NS)

    assert manager.get_sim_time() == pytest.approx(0.5)
    fallen = start[2] - manager.get_model_property("ball", "body_xpos")[2]
    # Semi-implicit Euler at 2 ms is within g·dt·t of the exact g t²/2.
    assert fallen == pytest.approx(GRAVITY * 0.5**2 / 2, abs=GRAVITY * 0.002 * 0.5)
    assert manager.get_model_property("ball_free", "joint_qvel")[2] == pytest.approx(-GRAVITY * 0.5, rel=1e-9)
    assert manager.get_model_property("ball", "body_xvelp")[2] == pytest.approx(-GRAVITY * 0.5, rel=1e-9)


def test_a_motor_torque_spins_the_rotor_up_at_torque_over_inertia_and_controls_persist(manager):
    torque = 0.5
    manager.run_step([torque, 0.0], STEP_NS)
    for _ in range(99):
        manager.run_step(None, STEP_NS)  # None keeps the previous controls

    assert manager.get_model_property("spin_motor", "actuator_ctrl")[0] == torque
    expected_rate = torque / ROTOR_INERTIA * 1.0
    assert manager.get_model_property("spin", "joint_qvel")[0] == pytest.approx(expected_rate, rel=1e-3)
    assert manager.get_model_property("spin_rate", "sensor")[0] == pytest.approx(expected_rate, rel=1e-3)
    assert manager.get_model_property("spin", "joint_qpos")[0] == pytest.approx(expected_rate / 2, rel=1e-2)


def test_one_value_drives_every_actuator(manager):
    manager.run_step(0.25, STEP_NS)

    assert manager.get_model_all_properties("ctrl").tolist() == [0.25, 0.25]


def test_names_come_in_id_order_as_mujoco_py_lists_them(manager):
    assert manager.get_model_properties("body") == ["world", "ball", "rotor", "pole"]
    assert manager.get_model_properties("joint") == ["ball_free", "spin", "hinge"]
    assert manager.get_model_properties("site") == ["tip"]
    assert manager.get_model_properties("actuator") == ["spin_motor", "hinge_motor"]
    assert manager.get_model_properties("camera") == ["front"]


def test_positions_are_valid_before_the_first_step_and_model_fields_are_reachable(manager):
    # The pole hangs from (-2, 0, 5); its tip is 0.5 m below.
    assert manager.get_model_property("tip", "site_xpos").tolist() == pytest.approx([-2, 0, 4.5])
    assert manager.get_model_property("ball", "body_mass")[0] == pytest.approx(1.0)
    assert manager.get_model_all_properties("qpos").shape == (9,)  # 7 (free) + 1 + 1


def test_a_torque_on_the_pole_swings_its_tip_along_a_circle(manager):
    for _ in range(30):
        manager.run_step([0.0, 0.05], STEP_NS)

    tip = manager.get_model_property("tip", "site_xpos")
    angle = manager.get_model_property("hinge", "joint_qpos")[0]
    assert angle > 0.01
    # A positive rotation about +y takes the tip from -z towards -x.
    assert tip.tolist() == pytest.approx([-2 - 0.5 * math.sin(angle), 0, 5 - 0.5 * math.cos(angle)], abs=1e-9)


def test_returned_arrays_are_copies_that_later_steps_do_not_change(manager):
    before = manager.get_model_property("ball", "body_xpos")
    manager.run_step(None, STEP_NS)

    assert before[2] == 10.0


def test_reset_restores_the_initial_state_and_time(manager):
    for _ in range(10):
        manager.run_step([1.0, 1.0], STEP_NS)
    manager.reset()

    assert manager.get_sim_time() == 0.0
    assert manager.get_model_property("ball", "body_xpos").tolist() == [0, 0, 10]
    assert manager.get_model_property("spin", "joint_qvel")[0] == 0.0


def test_the_camera_renders_the_model_offscreen(manager):
    image = manager.get_model_property("front", "camera_image")

    assert image.shape == (120, 160, 3) and image.dtype == np.uint8
    assert image.min() < image.max()  # not a blank frame
    # The red ball is in view and drops out of it as it falls.
    def red_pixels(img):
        return int(((img[..., 0] > 150) & (img[..., 1] < 80) & (img[..., 2] < 80)).sum())
    seen = red_pixels(image)
    for _ in range(100):
        manager.run_step(None, STEP_NS)
    assert seen > 0 and red_pixels(manager.get_model_property("front", "camera_image")) < seen


def test_an_engine_timestep_not_a_multiple_of_the_models_is_warned_about(mjcf, caplog):
    with caplog.at_level(logging.WARNING):
        manager = SimulatorManager(mujoco_config(timestep=0.005), base_dir=mjcf)
    manager.shutdown()
    assert "not a multiple" in caplog.text and "0.002" in caplog.text


@pytest.mark.parametrize("p_name, p_type, message", [
    ("nope", "site_xpos", "has no site named 'nope'; its sites are ['tip']"),
    ("tip", "site_flavour", "a MuJoCo site has no field 'flavour'"),
    ("tip", "widget_xpos", "Property type 'widget_xpos' is not supported"),
    ("nope", "camera_image", "has no camera named 'nope'"),
])
def test_unknown_properties_are_value_errors_that_say_what_exists(manager, p_name, p_type, message):
    with pytest.raises(PropertyError) as caught:
        manager.get_model_property(p_name, p_type)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_unknown_property_types_of_the_other_queries(manager):
    with pytest.raises(PropertyError, match="'widgets' is not supported"):
        manager.get_model_properties("widgets")
    with pytest.raises(PropertyError, match="'qpoz' is not an mjData array"):
        manager.get_model_all_properties("qpoz")


@pytest.mark.parametrize("action, message", [
    ([1.0, 2.0, 3.0], "the action has 3 values but probe.xml has 2 actuators ['spin_motor', 'hinge_motor']"),
    (["fast", 1], "a MuJoCo action is a list of numbers"),
    ({"ctrl": 1}, "a MuJoCo action is a list of numbers"),
])
def test_bad_actions_name_what_is_expected(manager, action, message):
    with pytest.raises(ActionError) as caught:
        manager.run_step(action, STEP_NS)
    assert message in str(caught.value)


def test_a_missing_world_file_names_the_file_and_where_it_was_looked_for(tmp_path):
    with pytest.raises(WorldFileError) as caught:
        SimulatorManager(mujoco_config("model/absent.xml"), base_dir=tmp_path)
    assert 'WorldFileName "model/absent.xml": file not found' in str(caught.value)
    assert str(tmp_path / "model" / "absent.xml") in str(caught.value)


def test_an_invalid_model_names_the_file_and_the_compilers_complaint(tmp_path):
    (tmp_path / "broken.xml").write_text('<mujoco>\n<worldbody>\n<geom type="sphere"/>\n</worldbody>\n</mujoco>\n')
    with pytest.raises(WorldFileError) as caught:
        SimulatorManager(mujoco_config("broken.xml"), base_dir=tmp_path)
    assert 'WorldFileName "broken.xml": not a valid MJCF model' in str(caught.value)
    assert "line 3" in str(caught.value)


def test_an_engine_timestep_below_the_models_is_refused(mjcf):
    with pytest.raises(SimulatorError, match=r"EngineTimestep 0.0005 s is shorter than the timestep 0.002 s"):
        SimulatorManager(mujoco_config(timestep=0.0005), base_dir=mjcf)


def test_a_step_that_is_not_integer_nanoseconds_is_refused(manager):
    with pytest.raises(ActionError, match="timestep_ns must be a non-negative integer"):
        manager.run_step(None, 0.01)
