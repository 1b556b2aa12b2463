"""Client side of the protobuf-over-gRPC engine protocol (python_grpc, datatransfer, ...).

The service and its messages are engines.engine_wire's. `EngineCommandTimeout` > 0 is the deadline
of every RPC. Payloads travel as `google.protobuf.Any`.
"""

from __future__ import annotations

import json
import time

import grpc

from engines import engine_wire as wire
from engines.datapacks import (DataPack, DataPackIdentifier, ProtobufDataPack, load_payload_modules,
                               protobuf_datapack_class)
from engines.engine_wire import engine_messages as pb
from engines.errors import EngineCrashed, EngineError, EngineLaunchError
from engines.nrpcoresim.datapack_kinds import check_protobuf_datapacks
from engines.nrpcoresim.engine_client import CRASH_GRACE_S, EngineClient
from engines.nrpcoresim.protocols.engine_arguments import grpc_engine_arguments, registers_its_port
from engines.nrpcoresim.protocols.port_claim import claim_server_address


class GrpcEngineClient(EngineClient):
    protocol = "grpc"

    def __init__(self, config, launcher, registration):
        super().__init__(config, launcher, registration)
        self._channel: grpc.Channel | None = None
        self._stub: wire.EngineServiceStub | None = None
        self._step_stub: wire.StepServiceStub | None = None
        self._packages = set(config.get("ProtobufPackages", []))
        load_payload_modules()

    def _registers(self, command: list[str]) -> bool:
        return registers_its_port(command)

    def _launch_arguments(self) -> list[str]:
        if self.registers:
            return [*grpc_engine_arguments(self.config, self.address),
                    wire.LaunchOption.REGISTRATION_URL.argument(self.registration.address)]
        # As nrp-core: the configured address if it is free now, else a free port of its host.
        self.address = claim_server_address(self.name, self.address)
        return grpc_engine_arguments(self.config, self.address)

    def connect(self, timeout_s: float) -> None:
        self._channel = grpc.insecure_channel(self.address)
        ready = grpc.channel_ready_future(self._channel)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                ready.result(timeout=0.05)
                break
            except grpc.FutureTimeoutError:
                crashed = self.crashed()
                if crashed is not None:
                    raise crashed from None
                if time.monotonic() > deadline:
                    raise EngineLaunchError(self.name, f"no gRPC server answered at {self.address}") from None
        self._stub = wire.EngineServiceStub(self._channel)

    def _call(self, method: str, request, stub=None):
        """`method` (a wire.EngineRpc, or wire.STEP_RPC on the step stub) with the command timeout."""
        try:
            return getattr(stub or self._stub, method)(request, timeout=self.command_timeout_s)
        except grpc.RpcError as error:
            raise self._rpc_error(method, error) from None

    def _rpc_error(self, method: str, error: grpc.RpcError) -> EngineError:
        code = error.code()
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return self.timeout_error()
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED):
            return self.crashed(CRASH_GRACE_S) or EngineCrashed(self.name, f"connection lost during {method}: {error.details()}")
        return EngineError(self.name, f"{method} failed: {error.details()}")

    def initialize(self) -> None:
        reply = self._call(wire.EngineRpc.INITIALIZE, pb.InitializeRequest(json=json.dumps(self.initialize_config())))
        try:
            self.note_capabilities(json.loads(reply.json) if reply.json else None)
        except ValueError:
            pass  # nrp-core's engines may answer anything here; only ours announce capabilities.
        if self.combined_step:
            self._step_stub = wire.StepServiceStub(self._channel)

    def reset(self) -> None:
        self._call(wire.EngineRpc.RESET, pb.ResetRequest(json=wire.NO_JSON))

    def shutdown(self) -> None:
        self._call(wire.EngineRpc.SHUTDOWN, pb.ShutdownRequest(json=wire.NO_JSON))

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()

    def run_loop_step(self, time_step_ns: int) -> int:
        return self._call(wire.EngineRpc.RUN_LOOP_STEP, pb.RunLoopStepRequest(timeStep=int(time_step_ns))).engineTime

    def get_datapacks(self, identifiers: list[DataPackIdentifier]) -> list[DataPack]:
        reply = self._call(wire.EngineRpc.GET_DATAPACKS, pb.GetDataPacksRequest(datapackIds=_identifiers(identifiers)))
        return self._read_datapacks(reply.dataPacks)

    def step(self, datapacks, time_step_ns, prefetch):
        request = wire.step_messages.StepRequest(dataPacks=self._messages(datapacks), timeStep=int(time_step_ns),
                                                 datapackIds=_identifiers(prefetch))
        reply = self._call(wire.STEP_RPC, request, self._step_stub)
        return reply.engineTime, self._read_datapacks(reply.dataPacks)

    def _read_datapacks(self, messages) -> list[DataPack]:
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

    def check_outgoing(self, datapacks: list[DataPack]) -> None:
        check_protobuf_datapacks(self.name, self.config["EngineType"], self._packages, datapacks)

    def set_datapacks(self, datapacks: list[DataPack]) -> None:
        messages = self._messages(datapacks)
        if messages:
            self._call(wire.EngineRpc.SET_DATAPACKS, pb.SetDataPacksRequest(dataPacks=messages))

    def _messages(self, datapacks: list[DataPack]) -> list:
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


def _identifiers(identifiers: list[DataPackIdentifier]) -> list:
    return [pb.DataPackIdentifier(dataPackName=i.name, engineName=i.engine_name, dataPackType=i.type)
            for i in identifiers]
