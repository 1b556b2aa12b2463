"""Conversions between the NrpCore service's messages and datapacks / trajectories."""

from __future__ import annotations

import json

from google.protobuf.message import Message

from engines.datapacks import DataPack, JsonDataPack, protobuf_datapack_class
from engines.errors import NrpCoreError
from nrp_protobuf import nrp_server_pb2 as pb


def trajectory_message(observations: list) -> pb.Trajectory:
    """JSON values and protobuf messages, numbered by their place in the trajectory."""
    trajectory = pb.Trajectory()
    for index, item in enumerate(observations):
        if isinstance(item, Message):
            trajectory.protoTrajectoryMessages.add(dataIndex=index).data.Pack(item)
        else:
            trajectory.jsonTrajectoryMessages.add(dataIndex=index).data.Pack(pb.JsonMessage(data=json.dumps(item)))
    return trajectory


def datapacks_from(message: pb.DataPacks) -> list[DataPack]:
    """Datapacks a client sent with runLoop or reset."""
    datapacks: list[DataPack] = []
    for entry in message.jsonDataPacks:
        payload = pb.JsonMessage()
        if not entry.data.Unpack(payload):
            raise NrpCoreError(f"JSON datapack '{entry.dataPackId.dataPackName}' does not carry a JsonMessage "
                               f"(it carries {entry.data.TypeName()})")
        try:
            data = json.loads(payload.data)
        except ValueError as error:
            raise NrpCoreError(f"JSON datapack '{entry.dataPackId.dataPackName}' is not valid JSON: {error}") from None
        datapacks.append(JsonDataPack(entry.dataPackId.dataPackName, entry.dataPackId.engineName, data))
    for entry in message.protoDataPacks:
        type_name = entry.data.TypeName()
        try:
            cls = protobuf_datapack_class(type_name)
        except KeyError:
            raise NrpCoreError(f"datapack '{entry.dataPackId.dataPackName}' carries unknown protobuf type "
                               f"'{type_name}'") from None
        payload = cls.message_type()
        entry.data.Unpack(payload)
        datapacks.append(cls(entry.dataPackId.dataPackName, entry.dataPackId.engineName, payload))
    return datapacks
