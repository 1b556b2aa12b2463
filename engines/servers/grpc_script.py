"""`GrpcEngineScript`, the base class of a python_grpc engine's `Script` (nrp-core 1.4's API).

Each datapack is registered with a protobuf message class and always holds an instance of it;
on the wire it travels packed in a `google.protobuf.Any`.
"""

from google.protobuf.message import Message

from engines.servers.script_base import ScriptBase
from nrp_protobuf import engine_grpc_pb2


class GrpcEngineScript(ScriptBase):
    """Base class of the `Script` class a python_grpc engine's PythonFileName must define."""

    def __new__(cls, *args, **kwargs):
        self = super().__new__(cls, *args, **kwargs)
        self._datapack_types = {}
        return self

    def _registerDataPack(self, name: str, protobuf_type: type) -> None:
        if not (isinstance(protobuf_type, type) and issubclass(protobuf_type, Message)):
            raise TypeError(f'datapack "{name}" of engine "{self._name}" needs a protobuf message class, '
                            f"got {protobuf_type!r}")
        self._checkNotRegistered(name)
        self._datapack_types[name] = protobuf_type
        self._datapacks[name] = protobuf_type()

    def _getDataPack(self, name: str) -> Message:
        self._checkRegistered(name)
        return self._datapacks[name]

    def _setDataPack(self, name: str, msg: Message) -> None:
        self._checkRegistered(name)
        expected = self._datapack_types[name]
        if not isinstance(msg, expected):
            raise TypeError(f'datapack "{name}" of engine "{self._name}" holds '
                            f"{expected.DESCRIPTOR.full_name}, got {type(msg).__name__}")
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
        self._checkRegistered(name)
        if not msg.HasField("data"):
            return
        target = self._datapacks[name]
        if target is None:
            target = self._datapacks[name] = self._datapack_types[name]()
        if not msg.data.Is(target.DESCRIPTOR):
            raise TypeError(f'datapack "{name}" of engine "{self._name}" holds {target.DESCRIPTOR.full_name}'
                            f", received {msg.data.TypeName() or 'an untyped Any'}")
        msg.data.Unpack(target)
