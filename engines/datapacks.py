"""Datapacks: the unit of data exchanged between engines, functions and the client.

A datapack has nrp-core's identity `(name, engine_name, type)` and a payload `data`: a JSON value
for `JsonDataPack`, a protobuf message for the `<Package><Message>DataPack` classes. A datapack
without payload is *empty* (an engine had nothing to give). `isUpdated()` is true only in the loop
iteration in which the datapack was received from its engine or created.
"""

from __future__ import annotations

import copy
import functools
import json
import weakref
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

    @classmethod
    def getType(cls) -> str:  # noqa: N802 (nrp-core's static method)
        """The type string every datapack of this class carries."""
        return cls.type

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
    """A datapack whose payload is JSON (dicts, lists, numbers, strings, booleans, null).

    One built by user code without data starts, as in nrp-core, as a JSON null (`NlohmannJson`)
    that becomes an object on `data["key"] = value` and an array on `data.append(value)`.
    """

    type = JSON_DATAPACK_TYPE

    def __init__(self, name: str, engine_name: str, data=None, *, empty: bool = False):
        super().__init__(name, engine_name, None if empty else (NlohmannJson(self) if data is None else data))

    def clone(self) -> JsonDataPack:
        twin = copy.copy(self)
        twin.data = _copy_owned_json(self.data, twin)
        return twin

    def _where(self) -> str:
        return f" (datapack '{self.name}' of engine '{self.engine_name}')"


class JsonRawData:
    """A JSON payload without identity, as returned by status functions; starts as a JSON null too."""

    def __init__(self, data=None):
        self.data = NlohmannJson(self) if data is None else data

    def clone(self) -> JsonRawData:
        twin = copy.copy(self)
        twin.data = _copy_owned_json(self.data, twin)
        return twin

    def _where(self) -> str:
        return " (JsonRawData)"


class NlohmannJson(dict):
    """The `.data` of a JsonDataPack built without data: nrp-core's `NlohmannJson`, which wraps a
    nlohmann::json that starts as null.

    - null: `len()` is 0, `json_type()` is "null", `str()` is "null", `keys()` and `[...]` raise;
    - `data["key"] = value` makes it an object: this dict, which holds the keys from then on;
    - `data.append(value)` makes it an array: the owner's `.data` becomes a `JsonArray`, and this
      object forwards to it, so that `d = datapack.data; d.append(1); d.append(2)` works too;
    - `append` on an object and `keys()` on anything but an object raise AttributeError, as in
      nrp-core; values are converted as nrp-core converts them: tuples and numpy arrays become
      lists, numpy scalars numbers, and anything else that is not JSON raises TypeError.

    Being a dict, it goes through `json.dumps` like any payload; a still-null one encodes as `{}`.
    """

    __slots__ = ("_owner", "_array", "_is_object")

    def __init__(self, owner):
        # A weak reference: a datapack and its payload would otherwise form a cycle that only the
        # garbage collector frees, once per datapack a function builds, on the loop's hot path.
        self._owner = weakref.ref(owner)
        self._array: JsonArray | None = None
        self._is_object = False

    def json_type(self) -> str:
        """'null', 'object' or 'array', nlohmann::json's type_name()."""
        if self._array is not None:
            return "array"
        return "object" if self._is_object or dict.__len__(self) else "null"

    def __setitem__(self, key, value) -> None:
        if self._array is not None:
            self._array[key] = value
            return
        if not isinstance(key, str):
            raise IndexError(f"object indices must be str, not {type(key).__name__} {key!r}{self._where()}")
        if value is not None and type(value) not in _JSON_TYPES:  # plain values skip the conversion
            value = json_value(value, f"key {key!r}{self._where()}")
        dict.__setitem__(self, key, value)
        self._is_object = True

    def append(self, value) -> None:
        """Appends to the array; a null becomes an array first (nlohmann::json's push_back)."""
        if self._array is None:
            if self.json_type() == "object":
                raise AttributeError("'append' may be called on array or null types only, called on "
                                     f"'object'{self._where()}")
            self._array = JsonArray()
            owner = self._owner()
            if owner is not None and owner.data is self:
                owner.data = self._array
        self._array.append(value)

    def keys(self):
        if self.json_type() != "object":
            raise AttributeError(f"'keys' cannot be used with json type '{self.json_type()}'{self._where()}")
        return dict.keys(self)

    def __missing__(self, key):
        # dict looks here only for keys it does not hold, so reading an object costs nothing extra.
        if self._array is not None:
            return self._array[key]
        if self.json_type() != "object":
            raise IndexError(f"json type 'null' can't be accessed with []{self._where()}")
        raise KeyError(key)

    def __len__(self) -> int:
        return len(self._array) if self._array is not None else dict.__len__(self)

    def __iter__(self):
        return iter(self._array) if self._array is not None else dict.__iter__(self)

    def __contains__(self, item) -> bool:
        return item in self._array if self._array is not None else dict.__contains__(self, item)

    def __eq__(self, other):
        value = self.value()
        if isinstance(other, NlohmannJson):
            other = other.value()
        return value is other if value is None else value == other

    def __ne__(self, other):
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def value(self):
        """The plain Python value: None, a dict or a list."""
        if self._array is not None:
            return list(self._array)
        # dict.items: dict(self) would go through keys(), which refuses a null.
        return dict(dict.items(self)) if self.json_type() == "object" else None

    def __str__(self) -> str:
        return json_text(self.value())

    def __repr__(self) -> str:
        return f"NlohmannJson({json_text(self.value())})"

    def __reduce__(self):
        # copy/deepcopy/pickle: the plain value, since the owner cannot come along.
        return (_plain, (self.value(),))

    def copy_for(self, owner) -> NlohmannJson | JsonArray:
        """A deep copy whose owner is `owner` (a cloned datapack)."""
        if self._array is not None:
            return JsonArray(_copy_json(list(self._array)))
        twin = NlohmannJson(owner)
        if self.json_type() == "object":
            dict.update(twin, _copy_json(self.value()))
            twin._is_object = True
        return twin

    def _where(self) -> str:
        owner = self._owner()
        return owner._where() if owner is not None else ""


class JsonArray(list):
    """A JSON array made by `append` on a null `NlohmannJson`; `json_type()` and `str()` as nrp-core's."""

    __slots__ = ()

    def json_type(self) -> str:
        return "array"

    def append(self, value) -> None:
        if value is not None and type(value) not in _JSON_TYPES:
            value = json_value(value, f"item {len(self)}")
        list.append(self, value)

    def keys(self):
        raise AttributeError("'keys' cannot be used with json type 'array'")

    def __str__(self) -> str:
        return json_text(list(self))


def json_value(value, where: str = "value"):
    """`value` as JSON data: tuples and numpy arrays become lists, numpy scalars Python numbers.

    Only the top level is converted, as values are stored; nested containers go as they are.
    """
    if value is None or type(value) in _JSON_TYPES:
        return value
    if isinstance(value, NlohmannJson):
        return value.value()
    if isinstance(value, (dict, list, str, int, float)):
        return value
    if isinstance(value, tuple):
        return list(value)
    to_list = getattr(value, "tolist", None)  # numpy arrays and scalars, without importing numpy
    if callable(to_list):
        return to_list()
    raise TypeError(f"{where}: {type(value).__name__} is not a JSON value; a datapack holds dicts, lists, "
                    "strings, numbers, booleans and None")


def json_text(value) -> str:
    """nlohmann::json's dump(): compact, keys sorted."""
    try:
        return json.dumps(value, separators=(",", ":"), sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


_JSON_TYPES = frozenset({dict, list, str, int, float, bool})


def _plain(value):
    return value


def _copy_owned_json(value, owner):
    if type(value) is NlohmannJson:
        return value.copy_for(owner)
    if type(value) is JsonArray:
        return JsonArray(_copy_json(value))
    return _copy_json(value)


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

    @classmethod
    def getType(cls) -> str:  # noqa: N802 (nrp-core's static method)
        return cls.message_type.DESCRIPTOR.full_name if cls.message_type is not None else ""

    def _copy_data(self):
        if self.data is None:
            return None
        twin = type(self.data)()
        twin.CopyFrom(self.data)
        return twin


class ProtobufRawData(ProtobufDataPack):
    """A protobuf payload without identity (no name, no engine), as status functions return it;
    nrp-core's `<Package><Message>RawData` classes take no arguments."""

    def __init__(self, data: Message | None = None):
        super().__init__("", "", data)


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


def raw_data_class_name(full_name: str) -> str:
    """`Dump.String` → `DumpStringRawData`."""
    return full_name.replace(".", "") + "RawData"


@functools.cache
def protobuf_raw_data_class(full_name: str) -> type[ProtobufRawData]:
    """The raw data class (a status function's observation) for a protobuf message type."""
    return type(raw_data_class_name(full_name), (ProtobufRawData,), {"message_type": message_class_for(full_name),
                                                                     "__module__": __name__})


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
