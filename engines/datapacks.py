"""Datapacks: the unit of data exchanged between engines, functions and the client.

A datapack has nrp-core's identity `(name, engine_name, type)` and a payload `data`: a JSON value
for `JsonDataPack`, a protobuf message for the `<Package><Message>DataPack` classes. A datapack
without payload is *empty* (an engine had nothing to give). `isUpdated()` is true only in the loop
iteration in which the datapack was received from its engine or created.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

# The type string nrp-core 1.4 puts on JSON datapacks: the g++ mangled name of nlohmann::json.
# nrp-core's own Python engine servers refuse any other value, so it is sent verbatim.
JSON_DATAPACK_TYPE = (
    "N8nlohmann10basic_jsonISt3mapSt6vectorNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEEblmdSaNS_14"
    "adl_serializerEEE"
)


@dataclass(frozen=True)
class DataPackIdentifier:
    """Names a datapack: its name, the engine that owns it and (optionally) its type."""

    name: str
    engine_name: str
    type: str = ""

    def key(self) -> tuple[str, str]:
        """The identity used for lookups; nrp-core matches datapacks by name and engine."""
        return (self.name, self.engine_name)


class DataPack:
    """A named payload owned by an engine."""

    type = ""

    def __init__(self, name: str, engine_name: str, data=None):
        self._name = name
        self._engine_name = engine_name
        self.data = data
        self._updated = True

    @property
    def name(self) -> str:
        return self._name

    @property
    def engine_name(self) -> str:
        return self._engine_name

    @property
    def id(self) -> DataPackIdentifier:
        return DataPackIdentifier(self._name, self._engine_name, self.type)

    def isEmpty(self) -> bool:  # noqa: N802 (nrp-core's name)
        return self.data is None

    def isUpdated(self) -> bool:  # noqa: N802 (nrp-core's name)
        return self._updated

    def mark_stale(self) -> None:
        """Called when an iteration passes without a new copy of this datapack."""
        self._updated = False

    def mark_fresh(self) -> None:
        """Called when the datapack has just been received from its engine."""
        self._updated = True

    def clone(self) -> DataPack:
        twin = copy.copy(self)
        twin.data = self._copy_data()
        return twin

    def _copy_data(self):
        return copy.deepcopy(self.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r}, {self._engine_name!r}, data={self.data!r})"


class JsonDataPack(DataPack):
    """A datapack whose payload is JSON (dicts, lists, numbers, strings, booleans, null)."""

    type = JSON_DATAPACK_TYPE

    def __init__(self, name: str, engine_name: str, data=None, *, empty: bool = False):
        # A datapack built by user code starts as an empty JSON object that can be filled in place.
        super().__init__(name, engine_name, None if empty else ({} if data is None else data))

    def _copy_data(self):
        return _copy_json(self.data)


class JsonRawData:
    """A JSON payload without identity, as returned by status functions."""

    def __init__(self, data=None):
        self.data = {} if data is None else data


class ProtobufDataPack(DataPack):
    """A datapack whose payload is a protobuf message; subclasses fix the message type."""

    message_type: type[Message] | None = None

    def __init__(self, name: str, engine_name: str, data: Message | None = None, *, empty: bool = False):
        if data is None and not empty and self.message_type is not None:
            data = self.message_type()
        if data is not None and self.message_type is not None and not isinstance(data, self.message_type):
            raise TypeError(f"datapack '{name}' holds {self.message_type.DESCRIPTOR.full_name}, "
                            f"not {type(data).__name__}")
        super().__init__(name, engine_name, data)

    @property
    def type(self) -> str:  # type: ignore[override]
        message = self.message_type or (type(self.data) if self.data is not None else None)
        return message.DESCRIPTOR.full_name if message is not None else ""

    def _copy_data(self):
        if self.data is None:
            return None
        twin = type(self.data)()
        twin.CopyFrom(self.data)
        return twin


def _copy_json(value):
    # Faster than deepcopy for the plain trees JSON decoding produces, which is all a datapack holds.
    if isinstance(value, dict):
        return {key: _copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy_json(item) for item in value]
    return value


def datapack_class_name(full_name: str) -> str:
    """`Dump.String` → `DumpStringDataPack`, nrp-core's naming of protobuf datapack classes."""
    return full_name.replace(".", "") + "DataPack"


@functools.cache
def protobuf_datapack_class(full_name: str) -> type[ProtobufDataPack]:
    """The datapack class for a protobuf message type known to the default descriptor pool."""
    message_class = message_class_for(full_name)
    return type(datapack_class_name(full_name), (ProtobufDataPack,), {"message_type": message_class,
                                                                       "__module__": __name__})


@functools.cache
def message_class_for(full_name: str) -> type[Message]:
    """The message class for a full protobuf type name such as `Wrappers.Int32Value`."""
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    except KeyError:
        raise KeyError(f"unknown protobuf message type '{full_name}'") from None
    return message_factory.GetMessageClass(descriptor)


def load_payload_modules() -> None:
    """Import the shipped message packages so that their types are in the default pool."""
    import importlib

    from nrp_protobuf.proto_modules import proto_modules

    for module in proto_modules:
        importlib.import_module(module)


def protobuf_package_of(full_name: str) -> str:
    return full_name.rsplit(".", 1)[0] if "." in full_name else ""
