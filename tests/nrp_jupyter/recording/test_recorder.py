"""The recorder on its own, fed as the publisher and the data bridge feed it: what it does with a
payload that is no JSON value and with a datapack it cannot decode. (The black-box tests beside
this one drive it through a real server.)"""

import asyncio
import io
import logging

import pytest
from mcap.reader import make_reader

from nrp_jupyter.server.errors import SimulationNotFound
from nrp_jupyter.server.lifecycle import SimulationState
from nrp_jupyter.server.models import Simulation
from nrp_jupyter.server.recording.recorder import RunRecorder
from nrp_jupyter.server.storage import ExperimentStorage
from nrp_protobuf import engine_grpc_pb2, wrappers_pb2

pytestmark = pytest.mark.timeout(30)


@pytest.fixture
def simulations(tmp_path):
    (tmp_path / "experiments" / "x").mkdir(parents=True)
    records = {}
    for sid in (1, 2):
        (tmp_path / f"sim{sid}").mkdir()
        records[sid] = Simulation(simulation_id=sid, experiment_id="x", state=SimulationState.STARTED,
                                  simulation_dir=str(tmp_path / f"sim{sid}"))
    return records


@pytest.fixture
def recorder(tmp_path, simulations):
    def record(sid):
        if sid not in simulations:
            raise SimulationNotFound(sid)
        return simulations[sid]

    recorder = RunRecorder(ExperimentStorage(tmp_path / "experiments"), record)
    recorder.start()
    yield recorder
    recorder.stop()


def status(recorder, simulations, sid, state="started", at=0.5):
    simulations[sid].state = SimulationState(state)
    recorder.listen(sid, f"nrp_simulation/{sid}/status", {"simulationTime": at, "realTime": at, "state": state})


def topics_of(archive):
    return [channel.topic for _, channel, _ in make_reader(io.BytesIO(archive.read_bytes())).iter_messages()]


def test_a_payload_that_is_no_json_value_ends_that_simulation_s_recording_only(recorder, simulations, caplog):
    caplog.set_level(logging.WARNING, logger="nrp_jupyter.server.recording")
    for sid in (1, 2):
        status(recorder, simulations, sid)
    recorder.listen(1, "nrp_simulation/1/steering", {"value": object()})
    recorder.listen(1, "nrp_simulation/1/steering", {"value": object()})
    for sid in (1, 2):
        status(recorder, simulations, sid, "stopped", at=1.0)

    assert asyncio.run(recorder.archived(1)) is None
    assert topics_of(asyncio.run(recorder.archived(2))) == ["status", "status"]
    [warning] = [entry.getMessage() for entry in caplog.records]
    assert warning.startswith("simulation 1: recording stopped (ValueError: a steering message that is no JSON "
                              "value: Object of type object is not JSON serializable)")


def test_a_datapack_that_cannot_be_decoded_is_skipped_with_one_warning(recorder, simulations, caplog):
    caplog.set_level(logging.WARNING, logger="nrp_jupyter.server.recording")
    envelope = engine_grpc_pb2.DataPackMessage()
    envelope.data.Pack(wrappers_pb2.DoubleValue(value=2.5))
    status(recorder, simulations, 1)
    for payload in (b"\xff\xff not protobuf", envelope.SerializeToString(), b"\xff\xff again"):
        recorder.tap(1, "speed", None, payload)
    status(recorder, simulations, 1, "stopped", at=1.0)

    archive = asyncio.run(recorder.archived(1))

    assert topics_of(archive) == ["status", "data/speed", "status"]
    [warning] = [entry.getMessage() for entry in caplog.records]
    assert warning.startswith("simulation 1: data/speed not recorded:")


def test_a_simulation_the_service_does_not_know_is_not_recorded(recorder):
    recorder.listen(9, "nrp_simulation/9/status", {"simulationTime": 0.0, "state": "started"})
    recorder.tap(9, "speed", None, b"")
    assert not recorder.knows(9)


def test_topics_are_recorded_below_the_simulation_s_base_whatever_the_prefix(recorder, simulations):
    recorder.listen(1, "nrp/lab/nrp_simulation/1/status", {"simulationTime": 0.0, "state": "started"})
    recorder.listen(1, "nrp/lab/nrp_simulation/1/runtime_error", {"msg": "boom"})
    status(recorder, simulations, 1, "stopped", at=1.0)

    assert topics_of(asyncio.run(recorder.archived(1))) == ["status", "runtime_error", "status"]
