"""The simulation configs of an nrp-core checkout's examples, and which of them run here.

A config is in scope when every engine it names is one this project implements (python_json,
python_grpc, py_sim with MuJoCo, PyBullet or Gymnasium, nest_json, datatransfer_grpc_engine), every
engine is launched here (not in Docker, not by hand), its loop is nrp-core's FTILoop (not the event
loop or a computational graph), and the Python modules its files import are installed. Everything
else is listed with the reason it is not run.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import pathlib
import sys
from dataclasses import dataclass, field

SUPPORTED_ENGINES = {"python_json", "python_grpc", "py_sim", "nest_json", "datatransfer_grpc_engine"}
# nrp-core's py_sim `Simulator` values this project implements (MuJoCo, PyBullet, Gymnasium for gym).
PY_SIM_SIMULATORS = {"mujoco", "bullet", "openai"}
ENGINE_NAMES = {
    "gazebo_grpc": "Gazebo", "gazebo_json": "Gazebo", "nest_server": "NEST Server (nest-server over REST)",
    "edlut_grpc_engine": "EDLUT", "unity_grpc_engine": "Unity", "spinnaker": "SpiNNaker",
    "tvb_json": "TVB", "opensim_json": "OpenSim",
}
# gRPC engines are reached at their ServerAddress. nrp-core's cannot serve elsewhere when it is
# taken (ours move to a free port), so checks naming one address run one at a time, each example
# getting the addresses it names, as it would on nrp-core.
GRPC_ENGINES = {"python_grpc", "datatransfer_grpc_engine"}
GRPC_DEFAULT_ADDRESS = "localhost:9004"
# Modules that the example's files get from this project or from the example itself.
PROVIDED_MODULES = {"nrp_core", "nrp_protobuf", "nrp_client"}


@dataclass(frozen=True)
class SimulationConfig:
    checkout: pathlib.Path
    example: pathlib.Path
    """The example's folder, relative to the checkout (examples/tf_exchange)."""
    file: str
    """The config's path inside the example's folder."""
    data: dict = field(compare=False, repr=False)
    out_of_scope: str | None = None
    fixed_addresses: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.example.as_posix()}/{self.file}"

    @property
    def source(self) -> pathlib.Path:
        return self.checkout / self.example

    @property
    def timeout_s(self) -> float:
        value = self.data.get("SimulationTimeout", 0)
        return float(value) if isinstance(value, (int, float)) else 0.0


def find_configs(checkout: pathlib.Path) -> list[SimulationConfig]:
    """Every simulation config under `checkout`/examples, in path order, each with its scope."""
    checkout = pathlib.Path(checkout)
    found = []
    for path in sorted((checkout / "examples").rglob("*.json")):
        if any(part.startswith(".") or part == "node_modules" for part in path.parts):
            continue
        try:
            data = json.loads(path.read_text())
        except (ValueError, UnicodeDecodeError):
            continue
        if not isinstance(data, dict) or "SimulationName" not in data:
            continue  # engine configs of the event loop examples, docker compose files, ...
        example = path.parent.relative_to(checkout)
        config = SimulationConfig(checkout, example, path.name, data)
        found.append(SimulationConfig(checkout, example, path.name, data, out_of_scope=scope_reason(config),
                                      fixed_addresses=fixed_addresses(data)))
    return found


def scope_reason(config: SimulationConfig) -> str | None:
    """Why `config` is not run here, or None."""
    data = config.data
    engines = data.get("EngineConfigs") or []
    for engine in engines:
        kind = engine.get("EngineType")
        if kind not in SUPPORTED_ENGINES:
            return f"engine type {kind} ({ENGINE_NAMES.get(kind, 'not implemented here')})"
        simulator = str(engine.get("Simulator", "")).lower()
        if kind == "py_sim" and simulator not in PY_SIM_SIMULATORS:
            return f"py_sim with Simulator {engine.get('Simulator')!r} (only MuJoCo, Bullet and OpenAI gym here)"
    if data.get("SimulationLoop", "FTILoop") != "FTILoop" or "EventLoop" in data or "ComputationalGraph" in data:
        return "event loop / computational graph config (only the FTILoop is implemented here)"
    for engine in engines:
        launch = engine.get("EngineLaunchCommand")
        launch_type = launch.get("LaunchType", "BasicFork") if isinstance(launch, dict) else "BasicFork"
        if launch_type == "DockerLauncher":
            return "docker config (engines launched in Docker containers)"
        if launch_type != "BasicFork":
            return f"engines started by hand ({launch_type})"
    missing = missing_modules(config)
    if missing:
        return "needs Python module(s) not installed here: " + ", ".join(sorted(missing))
    return None


def fixed_addresses(data: dict) -> frozenset[str]:
    addresses = set()
    for engine in data.get("EngineConfigs") or []:
        if engine.get("EngineType") in GRPC_ENGINES:
            addresses.add(str(engine.get("ServerAddress", GRPC_DEFAULT_ADDRESS)))
    return frozenset(addresses)


def referenced_files(data: dict) -> list[str]:
    """The Python files a config makes engines and the FTI loop execute."""
    files = []
    for engine in data.get("EngineConfigs") or []:
        for key in ("PythonFileName", "NestInitFileName"):
            if isinstance(engine.get(key), str):
                files.append(engine[key])
    for key in ("DataPackProcessingFunctions", "PreprocessingFunctions", "TransceiverFunctions"):
        for entry in data.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get("FileName"), str):
                files.append(entry["FileName"])
    status = data.get("StatusFunction")
    if isinstance(status, dict) and isinstance(status.get("FileName"), str):
        files.append(status["FileName"])
    return files


def missing_modules(config: SimulationConfig) -> set[str]:
    """Top-level modules imported by the config's files (and the example's own modules they
    import) that this interpreter cannot find."""
    folder = config.source
    missing: set[str] = set()
    seen: set[pathlib.Path] = set()
    pending = [folder / name for name in referenced_files(config.data)]
    while pending:
        path = pending.pop()
        if path in seen or not path.is_file():
            continue
        seen.add(path)
        for name in imported_modules(path):
            top = name.split(".")[0]
            if top == "nrp_core":
                missing |= _missing_behind_nrp_core(config.checkout, name)
                continue
            local = [folder / f"{top}.py", folder / top / "__init__.py", path.parent / f"{top}.py"]
            if any(candidate.is_file() for candidate in local):
                pending.extend(candidate for candidate in local if candidate.is_file())
                continue
            if top in PROVIDED_MODULES or top in sys.builtin_module_names:
                continue
            try:
                if importlib.util.find_spec(top) is None:
                    missing.add(top)
            except (ImportError, ValueError):
                missing.add(top)
    return missing


def imported_modules(path: pathlib.Path) -> set[str]:
    try:
        tree = ast.parse(path.read_text(errors="replace"), filename=str(path))
    except SyntaxError:
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def _missing_behind_nrp_core(checkout: pathlib.Path, module: str) -> set[str]:
    """An `nrp_core.<...>` module this project lacks may be one nrp-core builds on packages not
    installed here (its py_sim training helpers need torch); those packages are what is missing.
    A module that needs nothing missing is left to fail at run time: that gap is ours."""
    try:
        if importlib.util.find_spec(module) is not None:
            return set()
    except (ImportError, ValueError):
        pass
    missing: set[str] = set()
    name = module.rsplit(".", 1)[-1] + ".py"
    for source in _checkout_python_files(checkout).get(name, []):
        for imported in imported_modules(source):
            top = imported.split(".")[0]
            if top in PROVIDED_MODULES or top in sys.builtin_module_names:
                continue
            try:
                if importlib.util.find_spec(top) is None:
                    missing.add(top)
            except (ImportError, ValueError):
                missing.add(top)
    return missing


_PYTHON_FILES: dict[pathlib.Path, dict[str, list[pathlib.Path]]] = {}


def _checkout_python_files(checkout: pathlib.Path) -> dict[str, list[pathlib.Path]]:
    """The checkout's Python files outside examples/, by file name."""
    if checkout not in _PYTHON_FILES:
        by_name: dict[str, list[pathlib.Path]] = {}
        for path in checkout.rglob("*.py"):
            if "examples" not in path.relative_to(checkout).parts[:1]:
                by_name.setdefault(path.name, []).append(path)
        _PYTHON_FILES[checkout] = by_name
    return _PYTHON_FILES[checkout]
