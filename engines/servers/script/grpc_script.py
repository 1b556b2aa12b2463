"""`GrpcEngineScript`, the base class of a python_grpc engine's `Script` (nrp-core 1.4's API).

Each datapack is registered with a protobuf message class and always holds an instance of it;
on the wire it travels packed in a `google.protobuf.Any`.
"""

from google.protobuf.message import Message

from engines.servers.script.script_base import DataPackNotRegistered, ScriptBase
from nrp_protobuf import engine_grpc_pb2


class GrpcEngineScript(ScriptBase):
    """Base class of the `Script` class a python_grpc engine's PythonFileName must define."""

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        self._datapack_types = {}
        return self

    def _registerDataPack(self, name: str, protobuf_type: type) -> None:
        # nrp-core checks the name before the type, and words the errors so.
        self._checkNotRegistered(name)
        if not isinstance(protobuf_type, type):
            raise TypeError(f"[{self._name}] While registering Datapack. 'protobuf_type' argument must be a type "
                            f"(datapack {name}, got {protobuf_type!r})")
        if not issubclass(protobuf_type, Message):
            raise TypeError(f"[{self._name}] While registering Datapack. 'protobuf_type' argument must be a "
                            f"Python Protobuf Message type (datapack {name}, got {protobuf_type.__name__})")
        self._datapack_types[name] = protobuf_type
        self._datapacks[name] = protobuf_type()

    def _getDataPack(self, name: str) -> Message:
        self._checkRegistered(name)
        return self._datapacks[name]

    def _setDataPack(self, name: str, msg: Message) -> None:
        self._checkRegistered(name, "set data on")
        expected = self._datapack_types[name]
        if not isinstance(msg, expected):
            raise TypeError(f"[{self._name}] While setting Datapack. DataPack ({name}) was registered with type "
                            f"{expected.DESCRIPTOR.full_name}. Attempting to set it with type {type(msg).__name__}")
        self._datapacks[name] = msg

    def _getDataPackMsg(self, datapack_id) -> engine_grpc_pb2.DataPackMessage:
        """The datapack as a DataPackMessage; `datapack_id` is a DataPackIdentifier or a name.

        A requested identifier is echoed back unchanged, so that the client can match the reply
        to its request; a bare name gets this engine's name and the message's full type name.
        """
        reply = engine_grpc_pb2.DataPackMessage()
        if isinstance(datapack_id, str):
            name = datapack_id
            self._checkRegistered(name)
            reply.dataPackId.dataPackName = name
            reply.dataPackId.engineName = self._name
            reply.dataPackId.dataPackType = self._datapack_types[name].DESCRIPTOR.full_name
        else:
            name = datapack_id.dataPackName
            if datapack_id.engineName != self._name:
                raise ValueError(f"Requesting DataPack '{name}' from incorrect engine (engine name in the request "
                                 f"'{datapack_id.engineName}', engine that received the request '{self._name}')")
            self._checkRegistered(name)
            reply.dataPackId.CopyFrom(datapack_id)
        value = self._datapacks[name]
        if value is not None:
            reply.data.Pack(value)
        return reply

    def _handleDataPackMsg(self, msg: engine_grpc_pb2.DataPackMessage) -> None:
        """Unpack a received DataPackMessage into the registered instance, in place.

        A message without `data` is an empty datapack: it carries no value, so the current
        one is kept.
        """
        name = msg.dataPackId.dataPackName
        if msg.dataPackId.engineName != self._name:
            raise ValueError(f"Sent DataPack '{name}' to incorrect engine (engine name in the request is "
                             f"'{msg.dataPackId.engineName}', engine that received the request is '{self._name}')")
        if name not in self._datapacks:
            raise DataPackNotRegistered(self._name, name, message=f"[{self._name}] While handling Datapack Message. "
                                                                  f"Unregistered DataPack ({name})")
        if not msg.HasField("data"):
            return
        target = self._datapacks[name]
        if target is None:
            target = self._datapacks[name] = self._datapack_types[name]()
        if not msg.data.Is(target.DESCRIPTOR):
            raise TypeError(f"[{self._name}] While handling Datapack Message. DataPack ({name}) is of type "
                            f"{target.DESCRIPTOR.full_name} (received {msg.data.TypeName() or 'an untyped Any'}). "
                            f"Could not unpack the sent Datapack Message.")
        msg.data.Unpack(target)
