"""The PyBullet simulator through SimulatorManager, on real URDF models in this process."""

import math

import pytest

from engines.servers.simulators.base import ActionError, PropertyError, WorldFileError
from engines.servers.simulators.manager import SimulatorManager
from tests.conftest import EXPERIMENTS

STEP_NS = 10_000_000  # 10 ms
BULLET_GRAVITY = 9.8
PENDULUM = EXPERIMENTS / "bullet_pendulum"
PENDULUM_MASS_KG, PENDULUM_LENGTH_M, HINGE_HEIGHT_M = 1.0, 0.5, 1.5


def bullet_config(world_file, timestep=0.01, **extra) -> dict:
    return {"EngineName": "bullet", "EngineType": "py_sim", "Simulator": "Bullet", "WorldFileName": world_file,
            "EngineTimestep": timestep, "EngineExtraConfigs": extra}


@pytest.fixture
def pendulum():
    manager = SimulatorManager(bullet_config("pendulum.urdf", UseFixedBase=True), base_dir=PENDULUM)
    yield manager
    manager.shutdown()


def set_angle(manager, angle):
    import pybullet

    simulator = manager.sim_interface
    pybullet.resetJointState(simulator.model, 0, angle, 0.0, physicsClientId=simulator.physics_client)


def hinge(manager):
    angle, velocity, _, _ = manager.get_model_property("hinge", "Joint")
    return angle, velocity


def holding_torque(angle):
    return PENDULUM_MASS_KG * BULLET_GRAVITY * PENDULUM_LENGTH_M * math.sin(angle)


def test_a_free_sphere_without_ground_falls_as_gravity_says():
    manager = SimulatorManager(bullet_config("sphere_small.urdf", GroundPlane=False))
    try:
        for _ in range(50):
            manager.run_step(None, STEP_NS)
        (name,) = manager.get_model_properties("Body")  # the URDF's robot name; no ground plane
        dynamics = manager.get_model_property(name, "Body")
        z = manager.sim_interface._p.getBasePositionAndOrientation(
            manager.sim_interface.model, physicsClientId=manager.sim_interface.physics_client)[0][2]
    finally:
        manager.shutdown()
    assert manager.get_sim_time() == pytest.approx(0.5)
    assert dynamics[0] > 0  # getDynamicsInfo: the mass
    # g t²/2, within 1%: Bullet's default linear damping (0.04) slows the fall a little.
    assert -z == pytest.approx(BULLET_GRAVITY * 0.5**2 / 2, rel=0.01)


def test_names_of_joints_links_and_bodies(pendulum):
    assert pendulum.get_model_properties("Joint") == {"hinge": 0, "bob_mount": 1}
    assert pendulum.get_model_properties("Link") == {"rod": 0, "bob": 1}
    assert set(pendulum.get_model_properties("Body")) == {"plane", "pendulum"}


def test_the_holding_torque_keeps_the_pendulum_still_and_without_it_gravity_swings_it_back(pendulum):
    set_angle(pendulum, 0.6)
    for _ in range(100):
        pendulum.run_step({"Joint": [{"index": "hinge", "controlMode": "TORQUE_CONTROL",
                                      "force": holding_torque(0.6)}]}, STEP_NS)
    held, _ = hinge(pendulum)
    for _ in range(20):
        pendulum.run_step({"Joint": [{"index": 0, "controlMode": "TORQUE_CONTROL", "force": 0}]}, STEP_NS)
    released, velocity = hinge(pendulum)

    assert held == pytest.approx(0.6, abs=0.01)
    assert released < 0.5 and velocity < 0


def test_the_bob_moves_on_a_circle_around_the_hinge(pendulum):
    set_angle(pendulum, 0.3)
    for _ in range(30):
        pendulum.run_step(None, STEP_NS)
    angle, _ = hinge(pendulum)
    bob = pendulum.get_model_property("bob", "Link")[0]

    assert bob == pytest.approx((-PENDULUM_LENGTH_M * math.sin(angle), 0,
                                 HINGE_HEIGHT_M - PENDULUM_LENGTH_M * math.cos(angle)), abs=1e-6)


def test_position_control_with_nrp_cores_defaults_reaches_the_target(pendulum):
    for _ in range(300):
        pendulum.run_step({"Joint": [{"index": 0, "targetPosition": 0.4, "force": 50}]}, STEP_NS)

    assert hinge(pendulum)[0] == pytest.approx(0.4, abs=0.02)


def test_joints_start_braked_by_bullets_motor_and_a_zero_torque_frees_them(pendulum):
    push = {"Force": [{"index": "hinge", "forceObj": [5, 0, 0], "flags": "WORLD_FRAME", "posObj": [0, 0, 0]}]}
    for _ in range(20):
        pendulum.run_step(push, STEP_NS)
    braked, _ = hinge(pendulum)
    for _ in range(20):
        pendulum.run_step({**push, "Joint": [{"index": 0, "controlMode": "TORQUE_CONTROL", "force": 0}]}, STEP_NS)

    assert braked == pytest.approx(0, abs=1e-3)
    # A push towards +x, applied below the hinge, turns the pendulum the negative way about +y.
    assert hinge(pendulum)[0] < -0.1


def test_all_properties_of_a_type(pendulum):
    joints = pendulum.get_model_all_properties("Joint")
    links = pendulum.get_model_all_properties("Link")
    bodies = pendulum.get_model_all_properties("Body")

    assert len(joints) == 2 and len(links) == 2 and len(bodies) == 2
    assert links[1][0] == pytest.approx((0, 0, HINGE_HEIGHT_M - PENDULUM_LENGTH_M))


def test_reset_restores_the_loaded_state_and_keeps_the_model(pendulum):
    set_angle(pendulum, 1.0)
    for _ in range(10):
        pendulum.run_step(None, STEP_NS)
    pendulum.reset()

    assert pendulum.get_sim_time() == 0.0
    assert hinge(pendulum) == (0.0, 0.0)
    pendulum.run_step(None, STEP_NS)  # the model is still there (nrp-core's reset removed it)
    assert pendulum.get_model_properties("Joint") == {"hinge": 0, "bob_mount": 1}


def test_pybullet_data_models_are_found_by_their_relative_path(tmp_path):
    manager = SimulatorManager(bullet_config("racecar/racecar.urdf"), base_dir=tmp_path)
    try:
        # nrp-core's bullet_control example reads the racecar's position this way.
        assert len(manager.get_model_property("chassis", "Link")[0]) == 3
        assert "left_rear_wheel_joint" in manager.get_model_properties("Joint")
    finally:
        manager.shutdown()


@pytest.mark.parametrize("action, message", [
    ([1, 2], 'a Bullet action is a dict with lists under "Joint", "Force" and/or "Torque"'),
    ({"Wheel": []}, 'a Bullet action is a dict with lists under "Joint"'),
    ({"Joint": {"index": 0}}, 'action["Joint"] must be a list of dicts'),
    ({"Joint": [{"index": 0, "speed": 1}]}, "action[\"Joint\"]: unknown keys ['speed']"),
    ({"Joint": [{"index": 0, "controlMode": "FAST"}]}, "Joint controlMode 'FAST' is not one of"),
    ({"Joint": [{"index": "elbow"}]}, "no joint named 'elbow'; the joints are ['bob_mount', 'hinge']"),
    ({"Torque": [{"index": 7}]}, "index 7 is not a joint of pendulum.urdf (0..1, or -1 for the base)"),
    ({"Force": [{"index": 0, "flags": "BODY_FRAME"}]}, "flags 'BODY_FRAME' must be LINK_FRAME or WORLD_FRAME"),
])
def test_bad_actions_name_the_key_and_what_is_accepted(pendulum, action, message):
    with pytest.raises(ActionError) as caught:
        pendulum.run_step(action, STEP_NS)
    assert message in str(caught.value)


def test_wrong_property_types_and_names(pendulum):
    with pytest.raises(PropertyError, match=r"Wrong Type 'Property'. Supported property types are"):
        pendulum.get_model_properties("Property")
    with pytest.raises(PropertyError, match=r"pendulum.urdf has no Joint named 'knee'; they are \['bob_mount', "):
        pendulum.get_model_property("knee", "Joint")


def test_a_missing_model_names_the_file_and_both_places_looked_in(tmp_path):
    with pytest.raises(WorldFileError) as caught:
        SimulatorManager(bullet_config("robots/absent.urdf"), base_dir=tmp_path)
    message = str(caught.value)
    assert 'WorldFileName "robots/absent.urdf": file not found' in message
    assert str(tmp_path / "robots" / "absent.urdf") in message and "pybullet_data" in message


def test_an_invalid_urdf_names_the_file(tmp_path):
    (tmp_path / "broken.urdf").write_text("<robot><link name=")
    with pytest.raises(WorldFileError, match=r'WorldFileName "broken.urdf": pybullet cannot load it'):
        SimulatorManager(bullet_config("broken.urdf"), base_dir=tmp_path)


def test_an_unsupported_file_type_is_refused(tmp_path):
    (tmp_path / "world.obj").write_text("v 0 0 0\n")
    with pytest.raises(WorldFileError, match=r"Bullet loads .urdf, .sdf and .xml/.mjcf"):
        SimulatorManager(bullet_config("world.obj"), base_dir=tmp_path)
