"""Which datapacks an engine protocol takes, checked before they are sent, whatever carries them (an RPC
or a call into a script hosted in NRPCoreSim): JSON engines take JSON datapacks, gRPC engines protobuf
datapacks of the packages they declare."""

from __future__ import annotations

from collections.abc import Iterable

from engines.datapacks import DataPack, JsonDataPack, ProtobufDataPack, protobuf_package_of
from engines.errors import EngineError


def check_json_datapacks(engine: str, engine_type: str, datapacks: Iterable[DataPack]) -> None:
    for datapack in datapacks:
        if isinstance(datapack, ProtobufDataPack):
            raise EngineError(engine, f"datapack '{datapack.name}' holds a protobuf message "
                                      f"({datapack.type}); a {engine_type} engine takes JSON datapacks")


def check_protobuf_datapacks(engine: str, engine_type: str, packages: set[str],
                             datapacks: Iterable[DataPack]) -> None:
    """`packages`: the engine's ProtobufPackages; empty takes any."""
    for datapack in datapacks:
        if isinstance(datapack, JsonDataPack) or not isinstance(datapack, ProtobufDataPack):
            raise EngineError(engine, f"datapack '{datapack.name}' is a JSON datapack; a "
                                      f"{engine_type} engine takes protobuf datapacks")
        package = protobuf_package_of(datapack.type)
        if datapack.data is not None and packages and package not in packages:
            raise EngineError(engine, f"datapack '{datapack.name}' is a {datapack.type}, but the engine's "
                                      f"ProtobufPackages are {sorted(packages)}")
