"""A real datatransfer engine process on a real socket, a real mosquitto, a real subscriber."""

import json
from pathlib import Path

import grpc
import pytest

from nrp_protobuf import engine_grpc_pb2, engine_grpc_pb2_grpc
from tests.engines.servers.conftest import TIME_RATIO, Engine, EngineProcesses
from tests.nrp_jupyter.mqtt_helpers import Subscriber

ENGINE = "datatransfer_engine"


@pytest.fixture
def subscriber(mosquitto):
    with Subscriber(mosquitto.address, ["#"]) as sub:
        sub.wait_subscribed()
        yield sub


@pytest.fixture
def start_datatransfer(tmp_path, registrar):
    """Starts `python -m engines.servers.datatransfer` in tmp_path; returns once it registered."""
    engines = EngineProcesses(tmp_path, registrar)

    def start(name: str = ENGINE) -> Engine:
        return engines.start("engines.servers.datatransfer", name)

    yield start
    engines.close()


@pytest.fixture
def stub():
    channels = []

    def connect(address: str) -> engine_grpc_pb2_grpc.EngineGrpcServiceStub:
        channels.append(grpc.insecure_channel(address))
        return engine_grpc_pb2_grpc.EngineGrpcServiceStub(channels[-1])

    yield connect
    for channel in channels:
        channel.close()


def datatransfer_config(broker: str, data_directory: Path, **extra) -> dict:
    return {"EngineName": ENGINE, "EngineType": "datatransfer_grpc_engine", "TimeRatio": TIME_RATIO,
            "MQTTBroker": broker, "simulationID": "7", "dataDirectory": str(data_directory),
            "streamDataPackMessage": True, **extra}


def initialize(stub, config: dict):
    return json.loads(stub.initialize(engine_grpc_pb2.InitializeRequest(json=json.dumps(config)), timeout=10).json)


def datapack(name: str, payload=None, engine: str = ENGINE) -> engine_grpc_pb2.DataPackMessage:
    message = engine_grpc_pb2.DataPackMessage(dataPackId=engine_grpc_pb2.DataPackIdentifier(
        dataPackName=name, engineName=engine, dataPackType=payload.DESCRIPTOR.full_name if payload else ""))
    if payload is not None:
        message.data.Pack(payload)
    return message


def set_datapacks(stub, *messages) -> None:
    stub.setDataPacks(engine_grpc_pb2.SetDataPacksRequest(dataPacks=list(messages)), timeout=10)


def step(stub, time_step_ns: int = 10_000_000) -> int:
    return stub.runLoopStep(engine_grpc_pb2.RunLoopStepRequest(timeStep=time_step_ns), timeout=10).engineTime
