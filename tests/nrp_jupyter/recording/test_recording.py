"""Through the server, with a real mosquitto, kernel and engines: a run's recording holds every
message the server published about it, in order, and each datapack the datatransfer engine
streamed, with both times; a recorder that cannot write leaves the simulation running."""

import io
import json
import logging

import pytest
from mcap.reader import make_reader

from nrp_jupyter.server.recording import format as fmt
from nrp_protobuf import engine_grpc_pb2
from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.nrp_jupyter.conftest import wait_message
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(120)

STEPS = 50
# Engine 1's datapacks reach the datatransfer engine through a transceiver function, then the
# script fails: a runtime error, then `completed` (a user error is NRP's completion).
FAILING_SCRIPT = f"""
nrp.run_loop({STEPS})
raise RuntimeError("recorded on purpose")
"""


@pytest.fixture
def failing_datatransfer(experiments_root):
    folder = experiments_root / "recorded_failure"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange_datatransfer", folder, ignore=("*.log*", "*.zip", "data"))
    (folder / "main_script.py").write_text(FAILING_SCRIPT)
    return folder


def read(recording: bytes) -> list:
    """(topic, schema name, encoding, log_time, publish_time, data) of each message in file order."""
    reader = make_reader(io.BytesIO(recording))
    return [(channel.topic, schema.name, channel.message_encoding, message.log_time, message.publish_time,
             message.data) for schema, channel, message in reader.iter_messages(log_time_order=False)]


def metadata(recording: bytes) -> dict:
    [record] = [item for item in make_reader(io.BytesIO(recording)).iter_metadata()
                if item.name == fmt.METADATA_NAME]
    return dict(record.metadata)


def unwrapped(envelope: bytes) -> bytes:
    message = engine_grpc_pb2.DataPackMessage()
    message.ParseFromString(envelope)
    return message.data.value


async def test_a_run_s_recording_holds_what_the_server_published_and_every_datapack(
        nrp, jp_fetch, subscriber, failing_datatransfer, tmp_path):
    code, record, _ = await nrp.launch("recorded_failure")
    assert code == 201, record
    sid = record["simulationID"]
    # While it runs, the recording is a file of the simulation directory.
    [simulation_dir] = (tmp_path / "simulations").iterdir()
    await eventually_async(lambda: (simulation_dir / fmt.LIVE_FILE_NAME).is_file(), 5, "the live recording")
    code, body, _ = await nrp.call("GET", "simulation", str(sid), "recording")
    assert (code, body["type"]) == (404, "Client error") and "is paused" in body["message"], body
    assert (await nrp.put_state(sid, "started"))[0] == 200
    await nrp.wait_state(sid, "completed", timeout=60)
    assert (await nrp.put_state(sid, "stopped"))[0] == 200
    base = f"nrp_simulation/{sid}"
    await wait_message(subscriber, f"{base}/lifecycle", lambda message: message["target_state"] == "stopped")

    code, recording, headers = await raw_get(jp_fetch, sid)

    assert code == 200 and headers["Content-Type"] == "application/octet-stream"
    [archive] = failing_datatransfer.glob(f"*_simulation_{sid}.mcap")
    assert archive.read_bytes() == recording and f'filename="{archive.name}"' in headers["Content-Disposition"]
    assert [*failing_datatransfer.glob(f"*_simulation_{sid}.log.zip")][0].name.split("_simulation_")[0] <= \
        archive.name.split("_simulation_")[0]
    assert metadata(recording) == {"formatVersion": "1", "simulationID": str(sid), "experimentID": "recorded_failure",
                                   "experimentConfiguration": "simulation_config.json",
                                   "mainScript": "main_script.py", "mqttPrefix": ""}
    messages = read(recording)
    # Every message the server published on MQTT about the simulation, in its order, same payload.
    for leaf in (fmt.STATUS, fmt.LIFECYCLE, fmt.RUNTIME_ERROR):
        # (An empty lifecycle message clears the retained one at the end: it is no message of the run.)
        published = [message.json() for message in subscriber.received(f"{base}/{leaf}") if message.payload]
        recorded = [json.loads(data) for topic, _, encoding, _, _, data in messages if topic == leaf]
        assert recorded == published, leaf
    transitions = [(payload["source_state"], payload["target_state"]) for payload in
                   (json.loads(data) for topic, *_, data in messages if topic == fmt.LIFECYCLE)]
    assert transitions == [("created", "paused"), ("paused", "started"), ("started", "completed"),
                           ("completed", "stopped")]
    [error] = [json.loads(data) for topic, *_, data in messages if topic == fmt.RUNTIME_ERROR]
    assert error["msg"].endswith("recorded on purpose") and error["line_number"] == 3
    # The datapacks the datatransfer engine streamed, each as its own protobuf type, byte for byte.
    for datapack, type_name in (("engine_time", "Wrappers.DoubleValue"),
                                ("engine_clock", "NrpGenericProto.ArrayDouble")):
        streamed = [unwrapped(message.payload) for message in subscriber.received(f"{base}/data/{datapack}")]
        recorded = [(schema, encoding, data) for topic, schema, encoding, _, _, data in messages
                    if topic == f"data/{datapack}"]
        assert len(streamed) == STEPS
        assert recorded == [(type_name, "protobuf", data) for data in streamed], datapack
    # Both times: the wall clock in order, and the simulation time of the latest status.
    log_times = [log_time for _, _, _, log_time, _, _ in messages]
    assert log_times == sorted(log_times)
    sim_time = 0
    for topic, _, _, _, publish_time, data in messages:
        if topic == fmt.STATUS and "simulationTime" in json.loads(data):
            sim_time = round(json.loads(data)["simulationTime"] * 1e9)
        assert publish_time == sim_time, topic
    assert max(publish_time for *_, publish_time, _ in messages) >= STEPS * 10_000_000 - 10_000_000


async def raw_get(jp_fetch, simulation_id):
    """GET of the recording as bytes (nrp.call parses JSON)."""
    from tornado.httpclient import HTTPClientError

    try:
        response = await jp_fetch("nrp", "simulation", str(simulation_id), "recording")
    except HTTPClientError as error:
        response = error.response
    return response.code, response.body, response.headers


async def test_the_recording_s_rest_read_says_why_there_is_none(nrp):
    code, body, _ = await nrp.call("GET", "simulation", "987654", "recording")
    assert (code, body["type"]) == (404, "Client error") and "not found" in body["message"]


async def test_a_recording_that_cannot_be_written_leaves_the_simulation_running(nrp, experiments_root, caplog):
    # The recording's place in the simulation directory is a full disk: every write fails (ENOSPC).
    (experiments_root / "tf_exchange" / fmt.LIVE_FILE_NAME).symlink_to("/dev/full")
    caplog.set_level(logging.INFO, logger="nrp_jupyter.server.recording")
    code, record, _ = await nrp.launch("tf_exchange")
    assert code == 201, record
    sid = record["simulationID"]
    assert (await nrp.put_state(sid, "started"))[0] == 200
    await nrp.wait_state(sid, "completed", timeout=60)
    assert (await nrp.put_state(sid, "stopped"))[0] == 200

    code, body, _ = await nrp.call("GET", "simulation", str(sid), "recording")

    assert (code, body["type"]) == (404, "Client error"), body
    assert body["message"] == f"simulation {sid} left no recording: its recording failed (the server's log says why)"
    stopped = [entry.getMessage() for entry in caplog.records if "recording stopped" in entry.getMessage()]
    assert len(stopped) == 1 and "No space left on device" in stopped[0] and f"simulation {sid}:" in stopped[0]
    assert not [*(experiments_root / "tf_exchange").glob(f"*_simulation_{sid}.mcap")]


async def test_the_openapi_document_describes_the_recording_read(nrp):
    from openapi_spec_validator import validate

    code, document, _ = await nrp.call("GET", "openapi.json")
    validate(document)
    operation = document["paths"]["/simulation/{simulation_id}/recording"]["get"]
    assert set(operation["responses"]["200"]["content"]) == {"application/octet-stream"}
    assert "record_runs" in operation["responses"]["404"]["description"]


async def test_steering_events_are_recorded_at_the_simulation_time_they_took_effect(
        nrp, jp_fetch, subscriber, experiments_root):
    from tests.nrp_jupyter.steering_experiment import add_steering_probe

    code, launched, _ = await nrp.launch(add_steering_probe(experiments_root))
    assert code == 201, launched
    sid = launched["simulationID"]
    for gain, steps in ((2, 3), (-3.5, 2)):
        code, queued, _ = await nrp.call("PUT", "simulation", str(sid), "datapacks", "probe", "command",
                                         body={"value": {"gain": gain}})
        assert code == 202, queued
        code, stepped, _ = await nrp.call("POST", "simulation", str(sid), "step", body={"steps": steps})
        assert code == 200, stepped
    assert (await nrp.put_state(sid, "stopped"))[0] == 200
    base = f"nrp_simulation/{sid}"
    await wait_message(subscriber, f"{base}/lifecycle", lambda message: message["target_state"] == "stopped")

    code, recording, _ = await raw_get(jp_fetch, sid)

    assert code == 200
    messages = read(recording)
    steering = [(schema, json.loads(data), publish_time) for topic, schema, _, _, publish_time, data in messages
                if topic == fmt.STEERING]
    published = [message.json() for message in subscriber.received(f"{base}/steering")]
    assert [event for _, event, _ in steering] == published
    assert [event["value"] for event in published] == [{"gain": 2}, {"gain": -3.5}]
    assert [(schema, publish_time) for schema, _, publish_time in steering] == [
        ("nrp.Steering", 0), ("nrp.Steering", 30_000_000)]
    lifecycle = [json.loads(data) for topic, *_, data in messages if topic == fmt.LIFECYCLE]
    assert lifecycle == [message.json() for message in subscriber.received(f"{base}/lifecycle") if message.payload]
