"""Experiments for the loop-semantics tests, written into a directory from dicts and strings.

Every engine runs a *probe* script: it keeps a log of its own steps (the time step it was given,
its time after the step, and what its `inbox` datapack held during the step) and publishes it
with its step count in its `state` datapack. A python_json probe publishes `state` as a JSON
object; a python_grpc probe as a `Dump.String` holding the same object as JSON text.

The experiment's functions run in the test process; they call `record(...)` to leave what they
saw in `JOURNAL`, which the tests read.
"""

from __future__ import annotations

import ast
import json
import pathlib
import textwrap

JOURNAL: list[dict] = []


def record(kind: str, **seen) -> None:
    """Called by an experiment's functions: notes what a function saw in this iteration."""
    JOURNAL.append({"kind": kind, **seen})


def entries(kind: str) -> list[dict]:
    return [entry for entry in JOURNAL if entry["kind"] == kind]


def decode(datapack) -> dict:
    """A probe's `state` payload, whichever protocol carried it."""
    data = datapack.data
    return data if isinstance(data, dict) else json.loads(data.string_stream)


MS = 1_000_000  # ns

JSON_PROBE = '''
import os

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._log = []
        self._resets = 0
        self._exit_at = self._config.get("EngineExtraConfigs", {}).get("exit_at_step")
        self._registerDataPack("state")
        self._registerDataPack("inbox")
        self._registerDataPack("nothing")  # never set: an empty datapack
        self._publish()

    def runLoop(self, timestep_ns):
        if self._exit_at == len(self._log) + 1:
            os._exit(3)
        self._log.append({"dt": timestep_ns, "time": self._time_ns, "inbox": self._getDataPack("inbox")})
        self._setDataPack("inbox", None)
        self._publish()

    def reset(self):
        self._log = []
        self._resets += 1
        self._setDataPack("inbox", None)
        self._time_ns = 0  # nrp-core rewinds the engine time only once reset() has returned
        self._publish()

    def _publish(self):
        self._setDataPack("state", {"engine": self._name, "time": self._time_ns, "steps": len(self._log),
                                    "log": self._log, "resets": self._resets})
'''

GRPC_PROBE = '''
import json
import os

from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2


class Script(GrpcEngineScript):
    def initialize(self):
        self._log = []
        self._resets = 0
        self._exit_at = self._config.get("EngineExtraConfigs", {}).get("exit_at_step")
        self._registerDataPack("state", dump_pb2.String)
        self._registerDataPack("inbox", dump_pb2.String)
        self._publish()

    def runLoop(self, timestep_ns):
        if self._exit_at == len(self._log) + 1:
            os._exit(3)
        inbox = self._getDataPack("inbox").string_stream or None
        self._log.append({"dt": timestep_ns, "time": self._time_ns, "inbox": inbox})
        self._setDataPack("inbox", dump_pb2.String())
        self._publish()

    def reset(self):
        self._log = []
        self._resets += 1
        self._setDataPack("inbox", dump_pb2.String())
        self._time_ns = 0  # nrp-core rewinds the engine time only once reset() has returned
        self._publish()

    def _publish(self):
        state = {"engine": self._name, "time": self._time_ns, "steps": len(self._log), "log": self._log,
                 "resets": self._resets}
        self._setDataPack("state", dump_pb2.String(string_stream=json.dumps(state)))
'''

FUNCTIONS_HEADER = """\
from nrp_core import *
from nrp_core.data.nrp_json import *
from tests.engines.nrpcoresim.loop_experiments import decode, record
"""


def initial_state(engine: str, resets: int = 0) -> dict:
    """A probe's `state` before its first step."""
    return {"engine": engine, "time": 0, "steps": 0, "log": [], "resets": resets}


def json_engine(name: str, timestep_s: float, **extra) -> dict:
    return {"EngineType": "python_json", "EngineName": name, "PythonFileName": "json_probe.py",
            "EngineTimestep": timestep_s, "ServerAddress": "127.0.0.1:0",
            "RegistrationServerAddress": "127.0.0.1:0", **extra}


def grpc_engine(name: str, timestep_s: float, **extra) -> dict:
    return {"EngineType": "python_grpc", "EngineName": name, "PythonFileName": "grpc_probe.py",
            "EngineTimestep": timestep_s, "ServerAddress": "127.0.0.1:0", "ProtobufPackages": ["Dump"],
            **extra}


def probe_engine(protocol: str, name: str, timestep_s: float, **extra) -> dict:
    return (json_engine if protocol == "json" else grpc_engine)(name, timestep_s, **extra)


def write_experiment(directory: pathlib.Path, engines: list[dict], *functions: str, tfs=(), status=None,
                     **settings) -> pathlib.Path:
    """Writes the probes, one file per function named in `tfs` (TF and PF names) and `status`, and a
    simulation config listing them; returns the config's path.

    `functions` are sources (dedented) that define the functions; as in nrp-core, each file may
    register one function, so every listed function gets `<name>.py`: FUNCTIONS_HEADER, whatever
    `functions` define besides decorated functions, and the function itself."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "json_probe.py").write_text(JSON_PROBE)
    (directory / "grpc_probe.py").write_text(GRPC_PROBE)
    preamble, sources = _split_functions("\n".join(map(textwrap.dedent, functions)))
    for name in (*tfs, *([status] if status else [])):
        (directory / f"{name}.py").write_text("\n".join([FUNCTIONS_HEADER, preamble, sources[name]]))
    config = {"SimulationName": "loop_semantics", "EngineConfigs": engines,
              "DataPackProcessingFunctions": [{"Name": name, "FileName": f"{name}.py"} for name in tfs],
              **settings}
    if status:
        config["StatusFunction"] = {"Name": status, "FileName": f"{status}.py"}
    path = directory / "simulation_config.json"
    path.write_text(json.dumps(config, indent=2))
    return path


def _split_functions(source: str) -> tuple[str, dict[str, str]]:
    """The top-level statements that are not decorated functions, and each decorated function's
    source (its decorators included) by name."""
    lines = source.splitlines()
    preamble, decorated = [], {}
    for node in ast.parse(source).body:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = "\n".join(lines[start - 1:node.end_lineno])
        if isinstance(node, ast.FunctionDef) and node.decorator_list:
            decorated[node.name] = text
        else:
            preamble.append(text)
    return "\n".join(preamble), decorated
