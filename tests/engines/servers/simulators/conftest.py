"""Models and engines for the py_sim tests: MJCF and URDF files written into the test's directory,
and real `engines.servers.py_sim` processes found through a real registration server."""

import textwrap
from pathlib import Path

import pytest

from tests.engines.servers.conftest import Engine, EngineProcesses

# A ball falling freely from 10 m, a rotor about the vertical axis (gravity exerts no torque on it)
# driven by a motor, a hanging pendulum with a site at its tip, a camera and a sensor.
MJCF = """\
<mujoco model="probe">
  <option timestep="0.002" gravity="0 0 -9.81"/>
  <visual><global offwidth="160" offheight="120"/></visual>
  <worldbody>
    <light pos="0 0 12"/>
    <camera name="front" pos="0 -4 10" xyaxes="1 0 0 0 0 1"/>
    <body name="ball" pos="0 0 10">
      <freejoint name="ball_free"/>
      <geom type="sphere" size="0.1" mass="1" rgba="1 0 0 1" contype="0" conaffinity="0"/>
    </body>
    <body name="rotor" pos="2 0 5">
      <joint name="spin" type="hinge" axis="0 0 1"/>
      <inertial pos="0 0 0" mass="1" diaginertia="0.1 0.1 0.1"/>
      <geom type="box" size="0.3 0.05 0.05" contype="0" conaffinity="0"/>
    </body>
    <body name="pole" pos="-2 0 5">
      <joint name="hinge" type="hinge" axis="0 1 0"/>
      <geom type="capsule" size="0.02" fromto="0 0 0 0 0 -0.5" contype="0" conaffinity="0"/>
      <site name="tip" pos="0 0 -0.5"/>
    </body>
  </worldbody>
  <actuator><motor name="spin_motor" joint="spin" gear="1"/><motor name="hinge_motor" joint="hinge" gear="1"/></actuator>
  <sensor><jointvel name="spin_rate" joint="spin"/></sensor>
</mujoco>
"""
ROTOR_INERTIA = 0.1  # kg·m², diaginertia of the rotor about its hinge
GRAVITY = 9.81


def mujoco_config(world_file="probe.xml", timestep=0.01, **extra) -> dict:
    return {"EngineName": "sim", "EngineType": "py_sim", "Simulator": "Mujoco", "WorldFileName": world_file,
            "EngineTimestep": timestep, **extra}


@pytest.fixture
def mjcf(tmp_path):
    """The probe model, written as tmp_path/probe.xml; the directory is returned."""
    (tmp_path / "probe.xml").write_text(MJCF)
    return tmp_path


def write(directory: Path, name: str, source: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(source))
    return path


@pytest.fixture
def start_py_sim(tmp_path, registrar):
    """Starts `python -m engines.servers.py_sim` in tmp_path; returns once it has registered."""
    engines = EngineProcesses(tmp_path, registrar)

    def start(name: str = "sim", env: dict | None = None) -> Engine:
        # What scripts print is read back from this file.
        with open(tmp_path / f"{name}-{len(engines.procs)}.stdout", "wb") as stdout:
            return engines.start("engines.servers.py_sim", name, env=env, stdout=stdout)

    yield start
    engines.close()
