"""python_grpc engines in process: datapacks cross as protobuf messages.

Each datapack travels as the gRPC protocol carries it, a DataPackMessage with its payload packed in
an Any, and the script's own handlers read and write those messages (`_handleDataPackMsg`,
`_getDataPackMsg`), as under the gRPC server: the script's registered message is filled in place,
the loop gets a message of its own, and type and registration errors read the same.
"""

from __future__ import annotations

from engines import engine_wire as wire
from engines.datapacks import (DataPack, DataPackIdentifier, ProtobufDataPack, load_payload_modules,
                               protobuf_datapack_class)
from engines.engine_wire import engine_messages as pb
from engines.errors import EngineError
from engines.nrpcoresim.datapack_kinds import check_protobuf_datapacks
from engines.nrpcoresim.in_process.engine_client import Actions, InProcessEngineClient, checked_time_step
from engines.servers.script import script_calls
from engines.servers.script.grpc_script import GrpcEngineScript

GRPC_ACTIONS = Actions(wire.EngineRpc.INITIALIZE, wire.EngineRpc.RUN_LOOP_STEP, wire.EngineRpc.SET_DATAPACKS,
                       wire.EngineRpc.GET_DATAPACKS, wire.EngineRpc.RESET, wire.EngineRpc.SHUTDOWN, wire.STEP_RPC)


class InProcessGrpcClient(InProcessEngineClient):
    """A python_grpc engine's script, hosted here."""

    actions = GRPC_ACTIONS

    def __init__(self, config, launcher, registration):
        super().__init__(config, launcher, registration)
        self._packages = set(config.get("ProtobufPackages", []))
        load_payload_modules()

    def script_base(self) -> type:
        return GrpcEngineScript

    def check_outgoing(self, datapacks: list[DataPack]) -> None:
        check_protobuf_datapacks(self.name, self.config["EngineType"], self._packages, datapacks)

    def set_datapacks(self, datapacks: list[DataPack]) -> None:
        messages = self._messages(datapacks)
        if messages:
            self._call(self.actions.set_datapacks, self._host.with_script, _set, messages)

    def get_datapacks(self, identifiers: list[DataPackIdentifier]) -> list[DataPack]:
        return self._read(self._call(self.actions.get_datapacks, self._host.with_script, _get,
                                     _identifiers(identifiers)))

    def step(self, datapacks, time_step_ns, prefetch):
        engine_time, replies = self._call(self.actions.step, self._host.with_script, _step, self._messages(datapacks),
                                          checked_time_step(time_step_ns), _identifiers(prefetch))
        return engine_time, self._read(replies)

    def _messages(self, datapacks: list[DataPack]) -> list:
        """The DataPackMessages the gRPC client would send; an empty datapack is not sent."""
        self.check_outgoing(datapacks)
        messages = []
        for datapack in datapacks:
            if datapack.data is None:
                continue
            message = pb.DataPackMessage(dataPackId=pb.DataPackIdentifier(
                dataPackName=datapack.name, engineName=datapack.engine_name, dataPackType=datapack.type))
            message.data.Pack(datapack.data)
            messages.append(message)
        return messages

    def _read(self, messages: list) -> list[DataPack]:
        """The datapacks of the script's DataPackMessages, each with a message of its own."""
        datapacks = []
        for message in messages:
            name, engine = message.dataPackId.dataPackName, message.dataPackId.engineName
            if not message.HasField("data"):
                datapacks.append(ProtobufDataPack(name, engine, empty=True))
                continue
            type_name = message.data.TypeName()
            try:
                cls = protobuf_datapack_class(type_name)
            except KeyError:
                raise EngineError(self.name, f"datapack '{name}' carries unknown protobuf type '{type_name}'") from None
            payload = cls.message_type()
            message.data.Unpack(payload)
            datapacks.append(cls(name, engine, payload))
        return datapacks


def _identifiers(identifiers: list[DataPackIdentifier]) -> list:
    return [pb.DataPackIdentifier(dataPackName=i.name, engineName=i.engine_name, dataPackType=i.type)
            for i in identifiers]


def _step(script, messages: list, time_step_ns: int, identifiers: list) -> tuple[int, list]:
    """The gRPC server's step: set, advance, get, with the script held throughout."""
    if messages:
        _set(script, messages)
    engine_time = script_calls.advance(script, time_step_ns)
    return engine_time, (_get(script, identifiers) if identifiers else [])


def _set(script, messages: list) -> None:
    for message in messages:
        script._handleDataPackMsg(message)


def _get(script, identifiers: list) -> list:
    return [script._getDataPackMsg(identifier) for identifier in identifiers]
