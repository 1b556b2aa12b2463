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
    # A datapack the engine publishes from its first step on, and its type.
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
