"""One case per engine type: the engine's config entry, the files of its experiment, a datapack to
read, and how to show that a datapack sent to it reaches the simulation.

Every case goes through the same contract (test_contract.py); a new engine type adds a case here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

from engines.datapacks import DataPackIdentifier, JsonDataPack, protobuf_datapack_class


@dataclass(frozen=True)
class ContractCase:
    id: str
    engine: dict
    files: dict[str, str]
    # A datapack the engine publishes from its first step on, and its type ("" for a sink).
    readable: str
    readable_type: str
    # Sends a datapack to the engine (through `eut.client`), steps, and asserts that it took effect.
    check_set: Callable
    # Engine types whose reset does not rewind the engine's clock say so (nrp-core's do).
    reset_rewinds_time: bool = True
    extra: dict = field(default_factory=dict)


def read(eut, name: str, type_: str = ""):
    [datapack] = eut.client.get_datapacks([DataPackIdentifier(name, eut.client.name, type_)])
    return datapack


# -- python_json -------------------------------------------------------------------------------

JSON_ECHO_ENGINE = '''\
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    """Publishes its clock in "clock" and echoes whatever arrives in "command" into "echo"."""

    def initialize(self):
        self._registerDataPack("clock")
        self._registerDataPack("command")
        self._registerDataPack("echo")
        self._setDataPack("clock", {"time": self._time_ns})

    def runLoop(self, timestep_ns):
        self._setDataPack("clock", {"time": self._time_ns})
        self._setDataPack("echo", self._getDataPack("command"))

    def reset(self):
        self._setDataPack("clock", {"time": 0})
'''


def _check_json_echo(eut) -> None:
    eut.client.set_datapacks([JsonDataPack("command", eut.client.name, {"speed": 0.5, "tag": "contract"})])
    eut.client.run_loop_step(eut.timestep_ns)
    assert read(eut, "echo").data == {"speed": 0.5, "tag": "contract"}


PYTHON_JSON = ContractCase(
    id="python_json",
    engine={"EngineName": "echo", "EngineType": "python_json", "PythonFileName": "echo_engine.py",
            "ServerAddress": "localhost:0"},
    files={"echo_engine.py": JSON_ECHO_ENGINE},
    readable="clock", readable_type=JsonDataPack.type,
    check_set=_check_json_echo,
)

# -- python_grpc -------------------------------------------------------------------------------

GRPC_ECHO_ENGINE = '''\
from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2, wrappers_pb2


class Script(GrpcEngineScript):
    """Publishes its clock in "clock" and echoes the string of "command" into "echo"."""

    def initialize(self):
        self._registerDataPack("clock", wrappers_pb2.Int64Value)
        self._registerDataPack("command", dump_pb2.String)
        self._registerDataPack("echo", dump_pb2.String)
        self._setDataPack("clock", wrappers_pb2.Int64Value(value=self._time_ns))

    def runLoop(self, timestep_ns):
        self._setDataPack("clock", wrappers_pb2.Int64Value(value=self._time_ns))
        self._setDataPack("echo", dump_pb2.String(string_stream=self._getDataPack("command").string_stream))

    def reset(self):
        self._setDataPack("clock", wrappers_pb2.Int64Value(value=0))
'''


def _check_grpc_echo(eut) -> None:
    command = protobuf_datapack_class("Dump.String")("command", eut.client.name)
    command.data.string_stream = json.dumps({"speed": 0.5})
    eut.client.set_datapacks([command])
    eut.client.run_loop_step(eut.timestep_ns)
    assert json.loads(read(eut, "echo", "Dump.String").data.string_stream) == {"speed": 0.5}


PYTHON_GRPC = ContractCase(
    id="python_grpc",
    engine={"EngineName": "echo", "EngineType": "python_grpc", "PythonFileName": "echo_engine.py",
            "ServerAddress": "localhost:0", "ProtobufPackages": ["Dump", "Wrappers"]},
    files={"echo_engine.py": GRPC_ECHO_ENGINE},
    readable="clock", readable_type="Wrappers.Int64Value",
    check_set=_check_grpc_echo,
)

CASES = [PYTHON_JSON, PYTHON_GRPC]

# -- py_sim: one script for every simulator; what differs is how a command becomes an action ------

PY_SIM_ENGINE = '''\
from nrp_core.engines.py_sim import PySimEngineScript

import contract_simulator as simulator


class Script(PySimEngineScript):
    """Publishes the simulator's state in "state" and applies the action in "command"."""

    def initialize(self):
        self._registerDataPack("command")
        self._registerDataPack("state")
        self._setDataPack("command", None)
        self._publish()

    def runLoop(self, timestep_ns):
        self.sim_manager.run_step(simulator.action(self._getDataPack("command")), timestep_ns)
        self._publish()

    def reset(self):
        self.sim_manager.reset()
        self._publish()

    def _publish(self):
        self._setDataPack("state", {"time_s": self.sim_manager.get_sim_time(),
                                    "velocity": simulator.velocity(self.sim_manager)})
'''

MUJOCO_WORLD = '''\
<mujoco>
  <option timestep="0.002"/>
  <worldbody>
    <body name="arm">
      <joint name="hinge" type="hinge" axis="0 0 1" damping="0.1"/>
      <geom type="capsule" fromto="0 0 0 0.3 0 0" size="0.02" mass="0.2"/>
    </body>
  </worldbody>
  <actuator><motor name="drive" joint="hinge" gear="1"/></actuator>
</mujoco>
'''

MUJOCO_ADAPTER = '''\
def action(command):
    return None if command is None else [command["push"]]


def velocity(sim):
    return float(sim.get_model_property("hinge", "joint_qvel")[0])
'''

BULLET_WORLD = '''\
<?xml version="1.0"?>
<robot name="wheel">
  <link name="base"><inertial><mass value="0"/><inertia ixx="0" ixy="0" ixz="0" iyy="0" iyz="0" izz="0"/></inertial></link>
  <link name="disc">
    <inertial><mass value="1"/><inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/></inertial>
    <collision><geometry><cylinder radius="0.1" length="0.02"/></geometry></collision>
  </link>
  <joint name="axle" type="continuous">
    <parent link="base"/><child link="disc"/><origin xyz="0 0 1"/><axis xyz="0 0 1"/>
  </joint>
</robot>
'''

BULLET_ADAPTER = '''\
def action(command):
    push = 0.0 if command is None else command["push"]
    return {"Joint": [{"index": "axle", "controlMode": "TORQUE_CONTROL", "force": push}]}


def velocity(sim):
    return float(sim.get_model_property("axle", "Joint")[1])
'''

GYM_ADAPTER = '''\
def action(command):
    # CartPole-v1: 1 pushes the cart right, 0 left; with no command, alternate.
    return 1 if command is None else int(command["push"] > 0)


def velocity(sim):
    return float(sim.get_model_property("observation", "Property")[1])
'''


def _check_push(eut) -> None:
    """A push one way, then the other, moves the simulated body that way (the sign of its velocity)."""
    for push, sign in ((1.0, 1), (-1.0, -1)):
        eut.client.set_datapacks([JsonDataPack("command", eut.client.name, {"push": push})])
        for _ in range(10):
            eut.client.run_loop_step(eut.timestep_ns)
        velocity = read(eut, "state").data["velocity"]
        assert velocity * sign > 0, f"push {push} left the velocity at {velocity}"


def _py_sim_case(simulator: str, world_name: str, world: str, adapter: str, extra: dict | None = None):
    engine = {"EngineName": f"{simulator.lower()}_sim", "EngineType": "py_sim", "PythonFileName": "engine.py",
              "Simulator": simulator, "WorldFileName": world_name, "ServerAddress": "localhost:0",
              "EngineTimestep": 0.02, "EngineExtraConfigs": extra or {}}
    files = {"engine.py": PY_SIM_ENGINE, "contract_simulator.py": adapter}
    if world:
        files[world_name] = world
    return ContractCase(id=f"py_sim-{simulator}", engine=engine, files=files, readable="state",
                        readable_type=JsonDataPack.type, check_set=_check_push)


PY_SIM_MUJOCO = _py_sim_case("Mujoco", "arm.xml", MUJOCO_WORLD, MUJOCO_ADAPTER)
PY_SIM_BULLET = _py_sim_case("Bullet", "wheel.urdf", BULLET_WORLD, BULLET_ADAPTER,
                             {"UseFixedBase": True, "GroundPlane": False})
PY_SIM_GYM = _py_sim_case("OpenAI", "CartPole-v1", "", GYM_ADAPTER, {"Seed": 1})

# -- nest_json ---------------------------------------------------------------------------------

NEST_BRAIN = '''\
import nest
from nrp_core.engines.nest_json import RegisterDataPack

nest.ResetKernel()
noise = nest.Create("poisson_generator", params={"rate": 8000.0})
neuron = nest.Create("iaf_psc_alpha")
voltmeter = nest.Create("voltmeter")
nest.Connect(noise, neuron, syn_spec={"weight": 5.0})
nest.Connect(voltmeter, neuron)
RegisterDataPack("noise", noise)
RegisterDataPack("neuron", neuron)
'''


def _check_nest_status(eut) -> None:
    eut.client.set_datapacks([JsonDataPack("noise", eut.client.name, {"rate": 1234.0})])
    eut.client.run_loop_step(eut.timestep_ns)
    [status] = read(eut, "noise").data
    assert status["rate"] == 1234.0


NEST_JSON = ContractCase(
    id="nest_json",
    engine={"EngineName": "nest", "EngineType": "nest_json", "NestInitFileName": "brain.py",
            "ServerAddress": "localhost:0", "EngineTimestep": 0.01},
    files={"brain.py": NEST_BRAIN},
    readable="neuron", readable_type=JsonDataPack.type,
    check_set=_check_nest_status,
)

# -- datatransfer_grpc_engine: a sink; what it is sent ends up in a file -------------------------


def _check_dumped(eut) -> None:
    sent = protobuf_datapack_class("Wrappers.DoubleValue")("speed", eut.client.name)
    sent.data.value = 0.625
    eut.client.set_datapacks([sent])
    eut.client.run_loop_step(eut.timestep_ns)
    eut.client.shutdown()
    assert eut.wait_exit() == 0, eut.output()
    [dump] = (eut.workdir / "data").glob("*/speed.data")
    assert "0.625" in dump.read_text()


DATATRANSFER = ContractCase(
    id="datatransfer_grpc_engine",
    engine={"EngineName": "datatransfer_engine", "EngineType": "datatransfer_grpc_engine",
            "ServerAddress": "localhost:0", "ProtobufPackages": ["Wrappers"], "dataDirectory": "data",
            "dumps": [{"name": "speed", "network": False, "file": True}]},
    files={},
    readable="", readable_type="",
    check_set=_check_dumped,
)

CASES += [PY_SIM_MUJOCO, PY_SIM_BULLET, PY_SIM_GYM, NEST_JSON, DATATRANSFER]
