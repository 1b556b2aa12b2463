"""The client of NRPCoreSim's steering service (protos/nrp_steering.proto: our extension, not
nrp-core's), on the channel of an `NrpCore`.

Values cross as JSON: a JSON datapack's value as it is, a protobuf datapack's as protobuf's JSON
mapping of the message (json_format) with its full type name.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format

from engines.datapacks import message_class_for
from nrp_protobuf import nrp_steering_pb2 as pb
from nrp_protobuf.engine_grpc_pb2 import DataPackMessage
from nrp_protobuf.nrp_server_pb2 import JsonMessage
from nrp_protobuf.nrp_steering_pb2_grpc import SteeringServiceStub

log = logging.getLogger(__name__)

#: A steer request is answered at once; a read may wait for its engine's next step boundary.
STEER_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 15.0


class SteeringError(Exception):
    """NRPCoreSim refused a steering request. `missing`: the engine or datapack does not exist;
    `invalid`: the value cannot go to that engine; else the simulation cannot be steered now."""

    def __init__(self, message: str, *, missing: bool = False, invalid: bool = False):
        super().__init__(message)
        self.missing = missing
        self.invalid = invalid


@dataclass(frozen=True)
class SteeringOutcome:
    ticket: int
    engine: str
    datapack: str
    applied: bool
    time_ns: int
    iteration: int
    error: str
    missing: bool


def protobuf_message(type_name: str, value: Any):
    """The message of type `type_name` that protobuf's JSON mapping `value` describes; ValueError
    naming the type or the field otherwise."""
    try:
        cls = message_class_for(type_name)
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"type: no protobuf message type {type_name!r} is known") from None
    try:
        return json_format.ParseDict(value, cls())
    except json_format.ParseError as error:
        raise ValueError(f"value: not a {type_name}: {error}") from None


class SteeringClient:
    def __init__(self, channel: grpc.Channel):
        self._stub = SteeringServiceStub(channel)

    def steer(self, ticket: int, engine: str, datapack: str, value: Any, type_name: str | None = None) -> None:
        """Queues a JSON datapack (`type_name` None) or a protobuf one for `engine`'s next step."""
        message = DataPackMessage()
        message.dataPackId.dataPackName = datapack
        message.dataPackId.engineName = engine
        request = pb.SteerRequest(ticket=ticket)
        if type_name is None:
            message.data.Pack(JsonMessage(data=json.dumps(value)))
            request.dataPacks.jsonDataPacks.append(message)
        else:
            message.data.Pack(protobuf_message(type_name, value))
            request.dataPacks.protoDataPacks.append(message)
        self._call(self._stub.steer, request, STEER_TIMEOUT_S)

    def read(self, engine: str, datapack: str) -> tuple[str | None, Any]:
        """(type name or None for JSON, value) of the engine's latest `datapack`; value None if empty."""
        reply = self._call(self._stub.read, pb.ReadRequest(engineName=engine, dataPackName=datapack),
                           READ_TIMEOUT_S)
        for entry in reply.dataPacks.jsonDataPacks:
            if reply.empty:
                return None, None
            holder = JsonMessage()
            entry.data.Unpack(holder)
            return None, json.loads(holder.data)
        for entry in reply.dataPacks.protoDataPacks:
            type_name = entry.data.TypeName() or entry.dataPackId.dataPackType
            if reply.empty:
                return type_name, None
            payload = message_class_for(type_name)()
            entry.data.Unpack(payload)
            return type_name, json_format.MessageToDict(payload, preserving_proto_field_name=True)
        raise SteeringError(f"NRPCoreSim answered no datapack for '{datapack}' of engine '{engine}'")

    def watch(self, on_outcome: Callable[[SteeringOutcome], None]) -> Callable[[], None]:
        """Calls `on_outcome` for every outcome, on a thread of its own, until the returned
        function is called or NRPCoreSim ends the stream (at shutdown)."""
        call = self._stub.watch(pb.WatchRequest())

        def follow() -> None:
            try:
                for message in call:
                    on_outcome(SteeringOutcome(message.ticket, message.engineName, message.dataPackName,
                                               message.applied, message.timeNs, message.iteration, message.error,
                                               message.missing))
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE):
                    log.warning("the steering stream ended: %s", error)

        threading.Thread(target=follow, name="NrpSteeringWatch", daemon=True).start()
        return call.cancel

    @staticmethod
    def _call(rpc, request, timeout: float):
        try:
            return rpc(request, timeout=timeout)
        except grpc.RpcError as error:
            code = error.code()
            raise SteeringError(error.details() or str(code), missing=code == grpc.StatusCode.NOT_FOUND,
                                invalid=code == grpc.StatusCode.INVALID_ARGUMENT) from None
