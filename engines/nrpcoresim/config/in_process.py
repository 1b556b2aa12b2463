"""`"EngineLaunchCommand": {"LaunchType": "InProcess"}`: this project's launch type for engines whose
script runs inside NRPCoreSim's process, with no engine process and no RPC.

nrp-core has no such launch type, so a config that uses it is ours; every other LaunchType keeps
nrp-core's meaning. Only engines whose server is a Python script host can run so: python_json,
python_grpc and py_sim. Such an engine shares NRPCoreSim's process, so it also shares its
environment: a config that gives it EngineEnvParams is refused rather than run without them.
"""

from engines.errors import ConfigError
from engines.nrpcoresim.config.jsonpath import format_path
from engines.nrpcoresim.config.server_address import launch_type

IN_PROCESS = "InProcess"
# The engine types whose engine server only hosts a Python script (engines/servers/script).
IN_PROCESS_ENGINE_TYPES = frozenset({"python_json", "python_grpc", "py_sim"})


def is_in_process(engine: dict) -> bool:
    return launch_type(engine) == IN_PROCESS


def check_in_process(engines: list, file: str | None = None) -> None:
    """ConfigError naming the key at fault for an InProcess engine that cannot run in NRPCoreSim's
    process: one of another engine type, or one that sets EngineEnvParams."""
    for index, engine in enumerate(engines):
        if not isinstance(engine, dict) or not is_in_process(engine):
            continue
        name, engine_type = engine.get("EngineName"), engine.get("EngineType")
        if engine_type not in IN_PROCESS_ENGINE_TYPES:
            raise ConfigError(f"engine {name!r} is a {engine_type} engine, which runs in a process of its own; "
                              f"LaunchType {IN_PROCESS} runs the engine script of a "
                              f"{', '.join(sorted(IN_PROCESS_ENGINE_TYPES))} engine inside NRPCoreSim",
                              file=file, path=format_path(["EngineConfigs", index, "EngineLaunchCommand",
                                                           "LaunchType"]))
        if engine.get("EngineEnvParams"):
            raise ConfigError(f"engine {name!r} runs inside NRPCoreSim's process (LaunchType {IN_PROCESS}) and "
                              f"shares its environment, so its EngineEnvParams cannot apply; set them in "
                              f"NRPCoreSim's environment, or launch the engine with BasicFork",
                              file=file, path=format_path(["EngineConfigs", index, "EngineEnvParams"]))
