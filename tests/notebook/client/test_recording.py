"""Simulation.recording() against the session's real server: a datatransfer run's recording as data
frames, and its replay in order, onto the server's MQTT broker too, where a real subscriber sees it."""

import json

import pytest

from nrp_jupyter import Recording
from nrp_jupyter.notebook.client import NotFound, launch
from nrp_jupyter.notebook.client import recording as client_recording
from nrp_jupyter.server.recording import format as server_format
from tests.nrp_jupyter.mqtt_helpers import Subscriber
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)

STEPS = 100  # tf_exchange_datatransfer: SimulationTimeout 1 s in steps of 10 ms


def test_the_client_reads_the_names_the_server_writes():
    for name in ("METADATA_NAME", "DATA_PREFIX", "JSON_ENCODING", "PROTOBUF_ENCODING"):
        assert getattr(client_recording, name) == getattr(server_format, name), name


def test_a_run_s_recording_as_frames_and_replayed_onto_mqtt(server, connection):
    simulation = launch("tf_exchange_datatransfer", connection=connection)
    with pytest.raises(NotFound, match="is paused: its recording can be read once it has stopped"):
        simulation.recording()
    simulation.start()
    simulation.wait_until("completed", timeout=60)
    simulation.stop()

    recording = simulation.recording()

    assert isinstance(recording, Recording) and len(recording) > 2 * STEPS
    assert recording.metadata["experimentID"] == "tf_exchange_datatransfer"
    assert recording.metadata["simulationID"] == str(simulation.id)
    assert {"status", "lifecycle", "data/engine_time", "data/engine_clock"} <= set(recording.topics)
    frames = recording.frames()
    engine_time = frames["data/engine_time"]
    # Engine 1's time after each of the 100 steps, through a transceiver function, in order.
    assert list(engine_time["value"].round(6)) == [round(step / 100, 6) for step in range(STEPS)]
    assert list(frames["data/engine_clock"]["array[1]"].round(6)) == [0.0] + [0.01] * (STEPS - 1)
    assert engine_time["time"].is_monotonic_increasing and engine_time["sim_time"].is_monotonic_increasing
    lifecycle = frames["lifecycle"]
    assert list(lifecycle["target_state"]) == ["paused", "started", "completed", "stopped"]
    status = frames["status"].dropna(subset=["simulationTime"])
    assert (status["sim_time"].round(9) == status["simulationTime"].round(9)).all()
    assert status["state"].iloc[-1] == "stopped"

    # Replayed fast, onto the server's broker under the replay prefix, as the server and the
    # datatransfer engine published them.
    broker = f"127.0.0.1:{server.broker_port}"
    base = f"replay/nrp_simulation/{simulation.id}"
    with Subscriber(broker, [f"{base}/#"]) as subscriber:
        subscriber.wait_subscribed()
        replayed = list(recording.replay(speed=200, mqtt=broker))
        assert replayed == recording.messages
        for topic in ("status", "lifecycle", "data/engine_time"):
            expected = [message.data for message in recording.of(topic)]
            eventually(lambda: len(subscriber.received(f"{base}/{topic}")) >= len(expected), 10,
                       f"the replay of {topic} on MQTT")
            assert [message.payload for message in subscriber.received(f"{base}/{topic}")] == expected
        index = [message for message in subscriber.received(f"{base}/data") if message.payload]
        assert {entry["topic"]: entry["type"] for entry in json.loads(index[0].payload)} == {
            f"{base}/data/engine_time": "Wrappers.DoubleValue",
            f"{base}/data/engine_clock": "NrpGenericProto.ArrayDouble"}


def test_a_recording_of_an_unknown_simulation_is_not_found(connection):
    with pytest.raises(NotFound, match="not found"):
        Recording.fetch(connection, 987654)
