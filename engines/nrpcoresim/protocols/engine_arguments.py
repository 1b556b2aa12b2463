"""The arguments nrp-core 1.4's engine clients append to `EngineProcCmd EngineProcStartParams...`
when they launch an engine, per engine type, so that nrp-core's own engine servers accept our
command lines (their argument parsers refuse anything else):

| engine types                    | appended                                                          |
|---------------------------------|-------------------------------------------------------------------|
| python_json, py_sim             | --engine= --serverurl= --regservurl= --options=<ServerOptions>    |
| other JSON engines (nest_json)  | --engine= --serverurl= --regservurl=                              |
| python_grpc                     | --engine= --serverurl=                                            |
| other gRPC engines (datatransfer_grpc_engine, ...) | --engine= --serverurl= --protobuf_plugins_path= --protobuf_plugins=<ProtobufPackages as JSON> |

`--options` is passed even when ServerOptions is empty, as nrp-core does.

This project's own engine programs (`REGISTERING_PROGRAMS`) also register the port they bound
with the simulation's registration server, whatever their protocol: a gRPC one among them gets
`--regservurl` too, which lets it take a free port when its configured one is taken by another
simulation, without the race of choosing that port in advance. No other program gets it.
"""

from __future__ import annotations

import json
import os
import pathlib

from engines.engine_wire import LaunchOption

# Engine types whose nrp-core client derives from PythonEngineJSONNRPClientBase.
TYPES_WITH_SERVER_OPTIONS = frozenset({"python_json", "py_sim"})
# gRPC engine types whose nrp-core client passes only the name and the address.
GRPC_TYPES_WITHOUT_PLUGINS = frozenset({"python_grpc"})
# The console scripts of this project's engine servers (pyproject.toml, [project.scripts]), and their modules.
REGISTERING_PROGRAMS = frozenset({"nrp-python-json-engine", "nrp-python-grpc-engine", "nrp-py-sim-engine",
                                  "nrp-nest-json-engine", "nrp-datatransfer-engine"})
_REGISTERING_MODULE_PREFIX = "engines.servers."


def json_engine_arguments(config: dict, registration_address: str) -> list[str]:
    arguments = [LaunchOption.ENGINE.argument(config["EngineName"]),
                 LaunchOption.SERVER_URL.argument(config.get("ServerAddress", "")),
                 LaunchOption.REGISTRATION_URL.argument(registration_address)]
    if config.get("EngineType") in TYPES_WITH_SERVER_OPTIONS:
        arguments.append(LaunchOption.OPTIONS.argument(config.get("ServerOptions", "")))
    return arguments


def grpc_engine_arguments(config: dict, server_address: str) -> list[str]:
    arguments = [LaunchOption.ENGINE.argument(config["EngineName"]),
                 LaunchOption.SERVER_URL.argument(server_address)]
    if config.get("EngineType") not in GRPC_TYPES_WITHOUT_PLUGINS:
        packages = json.dumps(list(config.get("ProtobufPackages", [])), separators=(",", ":"))
        arguments += [LaunchOption.PROTOBUF_PLUGINS_PATH.argument(config.get("ProtobufPluginsPath")
                                                                  or default_plugins_path()),
                      LaunchOption.PROTOBUF_PLUGINS.argument(packages)]
    return arguments


def default_plugins_path() -> str:
    """Where this installation's protobuf message modules live, in place of nrp-core's plugin
    directory (NRP_PLUGIN_INSTALL_DIR)."""
    import nrp_protobuf

    return str(pathlib.Path(nrp_protobuf.__file__).parent)


def registers_its_port(command: list[str]) -> bool:
    """True when `command` runs one of this project's engine servers (by console script name or
    as `python -m engines.servers.<name>`), which take --regservurl whatever their protocol."""
    if not command:
        return False
    if os.path.basename(command[0]) in REGISTERING_PROGRAMS:
        return True
    for flag, module in zip(command, command[1:]):
        if flag == "-m":
            return module.startswith(_REGISTERING_MODULE_PREFIX)
    return False
