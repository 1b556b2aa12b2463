"""Steering, step and reset, black box: a real server, experiment kernels, NRPCoreSim, an engine
process that says what it received, mosquitto, and two /events listeners."""

import pytest

from tests.nrp_jupyter.conftest import wait_message
from tests.nrp_jupyter.steering_experiment import ONE_LONG_CALL, add_steering_probe
from tests.nrp_jupyter.test_websocket import Received, mqtt_connected, publisher  # noqa: F401 (fixture)
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(120)

STEP_S = 0.01


def datapack_path(simulation_id, engine="probe", datapack="command"):
    return ("simulation", str(simulation_id), "datapacks", engine, datapack)


async def seen(nrp, simulation_id):
    """What the engine says it received: (changes [[time ns, gain], ...], steps)."""
    code, body, _ = await nrp.call("GET", *datapack_path(simulation_id, datapack="seen"))
    assert code == 200, body
    assert body["engine"] == "probe" and body["datapack"] == "seen" and body["type"] is None
    return body["value"]["changes"], body["value"]["steps"]


async def sim_time(nrp, simulation_id):
    code, body, _ = await nrp.call("GET", "simulation", str(simulation_id), "details")
    return body["status"]["simulationTime"]


async def test_steering_step_and_reset_reach_the_engine_and_every_client(nrp, experiments_root, subscriber,
                                                                         publisher, jp_ws_fetch):  # noqa: F811
    await mqtt_connected(publisher)
    first, second = Received(), Received()
    sockets = [await jp_ws_fetch("nrp", "events", on_message_callback=listener) for listener in (first, second)]
    code, launched, _ = await nrp.launch(add_steering_probe(experiments_root))
    assert code == 201, launched
    sid = launched["simulationID"]

    # The declared controls.
    code, body, _ = await nrp.call("GET", "simulation", str(sid), "steering")
    assert code == 200 and body["controls"][0]["field"] == "gain" and body["controls"][0]["range"] == [-10, 10]

    # Paused and never started: the steering waits for the first step (202, then its ticket says queued).
    code, queued, headers = await nrp.call("PUT", *datapack_path(sid), body={"value": {"gain": 2}})
    assert code == 202, queued
    assert queued["status"] == "queued" and headers["Location"].endswith(f"/nrp/simulation/{sid}/steering/"
                                                                         f"{queued['ticket']}")
    code, ticket, _ = await nrp.call("GET", "simulation", str(sid), "steering", str(queued["ticket"]))
    assert code == 200 and ticket["status"] == "queued"
    assert (await seen(nrp, sid)) == ([], 0)

    # Step 3 from paused: exactly three loop steps, the steering applied with the first, still paused.
    code, stepped, _ = await nrp.call("POST", "simulation", str(sid), "step", body={"steps": 3})
    assert code == 200, stepped
    assert stepped == {"state": "paused", "steps": 3, "simulationTime": pytest.approx(3 * STEP_S)}
    assert await nrp.state(sid) == "paused"
    changes, steps = await seen(nrp, sid)
    assert steps == 3 and changes == [[0, 2]]
    code, ticket, _ = await nrp.call("GET", "simulation", str(sid), "steering", str(queued["ticket"]))
    assert ticket["status"] == "applied" and ticket["simulationTime"] == 0.0

    # Paused mid-script: steered at the next step boundary, which the next step request runs.
    code, queued2, _ = await nrp.call("PUT", *datapack_path(sid), body={"value": {"gain": -3.5}})
    assert code == 202
    code, stepped, _ = await nrp.call("POST", "simulation", str(sid), "step", body={"steps": 2})
    assert stepped["steps"] == 2 and stepped["simulationTime"] == pytest.approx(5 * STEP_S)
    assert (await seen(nrp, sid)) == ([[0, 2], [30_000_000, -3.5]], 5)

    # Started: answered once applied, with the time the engine got it at.
    assert (await nrp.put_state(sid, "started"))[0] == 200
    code, applied, _ = await nrp.call("PUT", *datapack_path(sid), body={"value": {"gain": 7}})
    assert code == 200, applied
    assert applied["status"] == "applied" and applied["engine"] == "probe" and applied["who"]
    applied_ns = round(applied["simulationTime"] * 1e9)
    assert applied_ns > 30_000_000

    async def engine_saw_it():
        return [applied_ns, 7] in (await seen(nrp, sid))[0]

    await eventually_async(engine_saw_it, 10, what="the engine's record of gain 7")
    changes, _ = await seen(nrp, sid)
    assert changes[-1] == [applied_ns, 7]  # from the very step the answer names

    # Reset: paused first, then time 0 and the engine's state back.
    assert (await nrp.put_state(sid, "paused"))[0] == 200
    code, reset, _ = await nrp.call("POST", "simulation", str(sid), "reset")
    assert code == 200, reset
    assert reset == {"state": "paused", "simulationTime": 0.0}
    assert await sim_time(nrp, sid) == 0.0
    assert (await seen(nrp, sid)) == ([], 0)
    code, stepped, _ = await nrp.call("POST", "simulation", str(sid), "step", body={"steps": 4})
    assert stepped["simulationTime"] == pytest.approx(4 * STEP_S)
    assert (await seen(nrp, sid)) == ([[0, 0]], 4)

    # Every client saw every steering, in the same order: MQTT and both sockets.
    topic = f"nrp_simulation/{sid}/steering"
    await wait_message(subscriber, topic, lambda m: m["value"] == {"gain": 7})
    on_mqtt = [message.json() for message in subscriber.received() if message.topic == topic]
    await eventually_async(lambda: len(first.of(sid, "steering")) == len(second.of(sid, "steering")) == 3, 10,
                           what="three steering events on both sockets")
    assert first.of(sid, "steering") == second.of(sid, "steering") == on_mqtt
    assert [(event["value"]["gain"], event["simulationTime"]) for event in on_mqtt] == [
        (2, 0.0), (-3.5, pytest.approx(3 * STEP_S)), (7, applied["simulationTime"])]
    assert set(on_mqtt[0]) == {"ticket", "engine", "datapack", "value", "type", "simulationTime", "wallTime", "who"}
    lifecycle = [(m["source_state"], m["event"], m["target_state"]) for m in first.of(sid, "lifecycle")]
    assert ("paused", "stepped", "paused") in lifecycle and ("paused", "reset", "paused") in lifecycle
    for socket in sockets:
        socket.close()


async def test_steering_reaches_a_script_inside_one_long_run_loop(nrp, experiments_root):
    name = add_steering_probe(experiments_root, "steering_long_call", main=ONE_LONG_CALL, long_steps=1000)
    code, launched, _ = await nrp.launch(name)
    sid = launched["simulationID"]
    assert (await nrp.put_state(sid, "started"))[0] == 200
    await eventually_async(lambda: _running(nrp, sid), 20, what="steps under way")
    code, applied, _ = await nrp.call("PUT", *datapack_path(sid), body={"value": {"gain": 4}})
    assert code == 200, applied
    # Applied inside the script's one call of 1000 steps (10 s of simulation time), not after it.
    assert 0 < applied["simulationTime"] < 1000 * STEP_S
    changes, steps = await seen(nrp, sid)
    assert [round(applied["simulationTime"] * 1e9), 4] in changes and steps < 1000


async def _running(nrp, sid):
    return (await seen(nrp, sid))[1] > 5


async def test_bad_steering_step_and_reset_requests_are_refused_and_named(nrp, experiments_root, jp_serverapp):
    code, launched, _ = await nrp.launch(add_steering_probe(experiments_root))
    sid = launched["simulationID"]

    async def refused(method, *path, body=None):
        code, answer, _ = await nrp.call(method, *path, body=body)
        return code, answer["type"], answer["message"]

    code, kind, message = await refused("PUT", *datapack_path(sid, engine="nobody"), body={"value": {"gain": 1}})
    assert (code, kind) == (404, "Client error") and "nobody" in message
    code, kind, message = await refused("PUT", *datapack_path(sid, datapack="nothing"), body={"value": {"gain": 1}})
    assert (code, kind) == (404, "Client error") and "nothing" in message
    code, kind, message = await refused("GET", *datapack_path(sid, datapack="nothing"))
    assert code == 404 and "nothing" in message
    code, kind, message = await refused("PUT", *datapack_path(sid), body={"gain": 1})
    assert code == 400 and message.startswith("gain:")
    code, kind, message = await refused("PUT", *datapack_path(sid), body={"value": {"gain": 11}})
    assert code == 400 and message.startswith("value.gain:") and "-10 to 10" in message
    code, kind, message = await refused("PUT", *datapack_path(sid), body={"type": "Wrappers.DoubleValue",
                                                                         "value": {"value": 1.0}})
    assert code == 400 and "JSON datapacks" in message
    code, kind, message = await refused("PUT", *datapack_path(sid), body={"type": "No.Such", "value": {}})
    assert code == 400 and message.startswith("type:")
    code, kind, message = await refused("POST", "simulation", str(sid), "step", body={"steps": 0})
    assert code == 400 and message.startswith("steps:")
    # The refusals applied nothing, and steered no engine.
    assert (await seen(nrp, sid)) == ([], 0)

    # Only the owner steers, steps and resets.
    record = jp_serverapp.web_app.settings["nrp_simulations"].get(sid)
    owner, record.owner = record.owner, "someone-else"
    for method, path, body in (("PUT", datapack_path(sid), {"value": {"gain": 1}}),
                               ("POST", ("simulation", str(sid), "step"), {"steps": 1}),
                               ("POST", ("simulation", str(sid), "reset"), None)):
        code, kind, message = await refused(method, *path, body=body)
        assert (code, kind) == (401, "Client error") and "owner" in message
    record.owner = owner

    # Step and reset need a paused simulation; steering a stopped one is refused too.
    assert (await nrp.put_state(sid, "started"))[0] == 200
    code, kind, message = await refused("POST", "simulation", str(sid), "step", body={"steps": 1})
    assert (code, kind, message) == (400, "State Transition error",
                                     "The state transition is invalid ('started' -> 'stepped')")
    code, kind, message = await refused("POST", "simulation", str(sid), "reset")
    assert (code, message) == (400, "The state transition is invalid ('started' -> 'reset')")
    assert (await nrp.put_state(sid, "stopped"))[0] == 200
    code, kind, message = await refused("PUT", *datapack_path(sid), body={"value": {"gain": 1}})
    assert code == 409 and "'stopped'" in message
    code, kind, message = await refused("POST", "simulation", str(sid), "reset")
    assert code == 400 and "finalized" in message


async def test_an_engine_that_refuses_the_reset_is_named_and_the_simulation_fails(nrp, experiments_root):
    name = add_steering_probe(experiments_root, "steering_no_reset", refuse_reset=True)
    # Once the script runs (it is told through its run_loop), and before it has started.
    for steps_first in (2, 0):
        code, launched, _ = await nrp.launch(name)
        sid = launched["simulationID"]
        if steps_first:
            assert (await nrp.call("POST", "simulation", str(sid), "step", body={"steps": steps_first}))[0] == 200
        code, answer, _ = await nrp.call("POST", "simulation", str(sid), "reset")
        assert code == 409, answer
        assert answer["type"] == "Client error"
        assert "refused by engine 'probe'" in answer["message"] and "cannot be reset" in answer["message"]
        await nrp.wait_state(sid, "failed")
        code, details, _ = await nrp.call("GET", "simulation", str(sid), "details")
        assert "reset" in details["reason"]


async def test_a_bad_steering_json_fails_the_launch_naming_file_and_key(nrp, experiments_root):
    bad = {"controls": [{"engine": "probe", "datapack": "command", "field": "gain", "kind": "slider",
                         "label": "Gain"}]}
    code, answer, _ = await nrp.launch(add_steering_probe(experiments_root, "steering_bad", steering=bad))
    assert code == 400, answer
    assert answer["message"].startswith("steering_bad/steering.json: controls[0]: 'range' is a required property")
    wrong_engine = {"controls": [{**bad["controls"][0], "engine": "elsewhere", "range": [0, 1]}]}
    code, answer, _ = await nrp.launch(add_steering_probe(experiments_root, "steering_bad2", steering=wrong_engine))
    assert (code, answer["type"]) == (400, "Client error")
    assert "controls[0].engine: no engine 'elsewhere'" in answer["message"]


async def test_a_protobuf_datapack_is_steered_and_read_as_protobuf_json(nrp):
    code, launched, _ = await nrp.launch("tf_exchange", experimentConfiguration="simulation_config_grpc.json")
    assert code == 201, launched
    sid = launched["simulationID"]
    path = datapack_path(sid, engine="python_2", datapack="rec_datapack2")
    code, queued, _ = await nrp.call("PUT", *path, body={"type": "Dump.String", "value": {"string_stream": "steered"}})
    assert code == 202, queued
    assert (await nrp.call("POST", "simulation", str(sid), "step", body={"steps": 1}))[0] == 200
    code, read, _ = await nrp.call("GET", *path)
    assert (code, read["type"], read["value"]) == (200, "Dump.String", {"string_stream": "steered"})
    code, answer, _ = await nrp.call("PUT", *path, body={"type": "Dump.String", "value": {"no_such_field": 1}})
    assert code == 400 and answer["message"].startswith("value: not a Dump.String")
