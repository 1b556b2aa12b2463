"""The datatransfer engine's config, read from its initialize request.

NRPCoreSim fills in the schema defaults (engines/nrpcoresim/config/schemas/datatransfer_grpc_engine.json); an
engine launched by someone else may get a sparser config, so the same defaults apply here. Every
error names the key at fault, e.g. ``dumps[1].network``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from engines.mqtt import topics
from engines.mqtt.publisher import parse_broker

DEFAULT_BROKER = "localhost:1883"
DEFAULT_DATA_DIRECTORY = "data"
DEFAULT_SIMULATION_ID = "0"


class DataTransferConfigError(ValueError):
    """A key of the datatransfer engine's config that cannot be used; `key` is its JSON path."""

    def __init__(self, key: str, reason: str):
        self.key = key
        super().__init__(f"{key}: {reason}")


@dataclass(frozen=True)
class Dump:
    """One entry of `dumps`: a datapack name and where it goes."""

    name: str
    network: bool
    file: bool

    @property
    def has_destination(self) -> bool:
        return self.network or self.file


@dataclass(frozen=True)
class DataTransferConfig:
    broker: str
    prefix: str
    simulation_id: str
    data_directory: Path
    stream_datapack_message: bool
    dumps: tuple[Dump, ...]

    @classmethod
    def from_engine_config(cls, config: dict) -> DataTransferConfig:
        if not isinstance(config, dict):
            raise DataTransferConfigError("<config>", f"the engine config must be a JSON object, got {config!r}")
        broker = _string(config, "MQTTBroker", DEFAULT_BROKER)
        try:
            parse_broker(broker)
        except ValueError as err:
            raise DataTransferConfigError("MQTTBroker", str(err)) from None
        prefix = _string(config, "MQTTPrefix", "")
        try:
            topics.validate_prefix(prefix)
        except ValueError as err:
            raise DataTransferConfigError("MQTTPrefix", str(err)) from None
        simulation_id = config.get("simulationID", DEFAULT_SIMULATION_ID)
        # nrp-core's schema says string; NRP's backend writes the id as a number in some configs.
        if isinstance(simulation_id, int) and not isinstance(simulation_id, bool):
            simulation_id = str(simulation_id)
        if not isinstance(simulation_id, str):
            raise DataTransferConfigError("simulationID", f"must be a string, got {simulation_id!r}")
        try:
            topics.validate_name(simulation_id, "simulation id")
        except ValueError as err:
            raise DataTransferConfigError("simulationID", str(err)) from None
        data_directory = _string(config, "dataDirectory", DEFAULT_DATA_DIRECTORY)
        if not data_directory:
            raise DataTransferConfigError("dataDirectory", "must not be empty")
        stream = _boolean(config, "streamDataPackMessage", True)
        return cls(broker=broker, prefix=prefix, simulation_id=simulation_id,
                   data_directory=Path(data_directory), stream_datapack_message=stream,
                   dumps=_dumps(config.get("dumps", [])))

    @property
    def network_dumps(self) -> tuple[Dump, ...]:
        return tuple(dump for dump in self.dumps if dump.network)

    @property
    def file_dumps(self) -> tuple[Dump, ...]:
        return tuple(dump for dump in self.dumps if dump.file)


def _string(config: dict, key: str, default: str) -> str:
    value = config.get(key, default)
    if not isinstance(value, str):
        raise DataTransferConfigError(key, f"must be a string, got {value!r}")
    return value


def _boolean(config: dict, key: str, default: bool, path: str | None = None) -> bool:
    value = config.get(key, default)
    if not isinstance(value, bool):
        raise DataTransferConfigError(path or key, f"must be true or false, got {value!r}")
    return value


def _dumps(entries) -> tuple[Dump, ...]:
    if not isinstance(entries, list):
        raise DataTransferConfigError("dumps", f"must be a list of {{name, network, file}}, got {entries!r}")
    dumps: list[Dump] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        where = f"dumps[{index}]"
        if not isinstance(entry, dict):
            raise DataTransferConfigError(where, f"must be an object {{name, network, file}}, got {entry!r}")
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise DataTransferConfigError(f"{where}.name", f"must be a non-empty string, got {name!r}")
        try:
            topics.validate_name(name, "datapack name")
        except ValueError as err:
            raise DataTransferConfigError(f"{where}.name", str(err)) from None
        if name in seen:
            raise DataTransferConfigError(f"{where}.name", f'datapack "{name}" is listed twice')
        seen.add(name)
        dumps.append(Dump(name=name, network=_boolean(entry, "network", False, f"{where}.network"),
                          file=_boolean(entry, "file", False, f"{where}.file")))
    return tuple(dumps)
