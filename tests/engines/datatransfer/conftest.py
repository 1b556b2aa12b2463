"""A real datatransfer engine process on a real socket, a real mosquitto, a real subscriber."""

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from nrp_protobuf import engine_grpc_pb2, engine_grpc_pb2_grpc
from tests.engines.servers.conftest import TIME_RATIO, Engine, Registrar, engine_env  # noqa: F401
from tests.nrp_jupyter.mqtt_helpers import Mosquitto, Subscriber, mosquitto_executable

ENGINE = "datatransfer_engine"


@pytest.fixture
def registrar():
    registrar = Registrar()
    yield registrar
    registrar.close()


@pytest.fixture
def mosquitto(tmp_path):
    broker = Mosquitto(mosquitto_executable(), tmp_path / "mosquitto.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def subscriber(mosquitto):
    with Subscriber(mosquitto.address, ["#"]) as sub:
        sub.wait_subscribed()
        yield sub


@pytest.fixture
def start_datatransfer(tmp_path, registrar):
    """Starts `python -m engines.servers.datatransfer` in tmp_path; returns once it registered."""
    procs: list[subprocess.Popen] = []

    def start(name: str = ENGINE) -> Engine:
        stderr_path = tmp_path / f"{name}-{len(procs)}.stderr"
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", "engines.servers.datatransfer", f"--engine={name}",
                                     "--serverurl=127.0.0.1:0", f"--regservurl={registrar.url}"],
                                    cwd=tmp_path, env=engine_env(), stdout=subprocess.DEVNULL, stderr=stderr)
        procs.append(proc)
        registration = registrar.wait(proc, stderr_path)
        assert registration["engine_name"] == name
        return Engine(proc, name, registration["address"], stderr_path)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


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
