"""The simulators of the py_sim engine, behind nrp-core 1.4's SimulatorManager interface.

    base              the Simulator interface, errors, world-file lookup
    manager           SimulatorManager: picks and builds the configured simulator
    mujoco_simulator  MuJoCo (MJCF)
    bullet_simulator  PyBullet (URDF / SDF / MJCF)
    gym_simulator     Gymnasium environments ("OpenAI")
    engine_script     PySimEngineScript, the base of a py_sim engine's Script

Importing this package loads no simulator: each is imported when a manager needs it.
"""
