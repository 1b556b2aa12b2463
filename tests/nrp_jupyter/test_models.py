"""The simulation record's NRP JSON, and the parsing of launch and state bodies."""

import json
from datetime import datetime, timedelta

import pytest

from nrp_jupyter.server.errors import ClientError, InvalidExperimentId, StateTransitionError
from nrp_jupyter.server.lifecycle import SimulationState, Transition, Trigger, next_state
from nrp_jupyter.server.models import LaunchRequest, Simulation, StateRequest, now_iso

NRP_KEYS = ["state", "simulationID", "experimentConfiguration", "mainScript", "owner", "creationDate",
            "experimentID", "ctxId", "MQTTPrefix"]


def make_simulation(**overrides) -> Simulation:
    fields = dict(simulation_id=4, experiment_id="husky_braitenberg", owner="alice",
                  creation_date="2024-03-01T10:15:00+01:00", ctx_id="ctx-1", mqtt_prefix="lab",
                  state=SimulationState.PAUSED, kernel_id="k-1", simulation_dir="/tmp/nrp.4.abc",
                  nrpcoresim_pid=4242, runtime_error={"msg": "boom", "error_type": "Runtime"},
                  reason=None, last_status={"state": "paused", "simulationTime": 1.5},
                  updated_at="2024-03-01T10:16:00+01:00")
    fields.update(overrides)
    return Simulation(**fields)


def test_nrp_json_is_exactly_nrps():
    assert make_simulation().to_nrp_json() == {
        "state": "paused",
        "simulationID": 4,
        "experimentConfiguration": "simulation_config.json",
        "mainScript": "main_script.py",
        "owner": "alice",
        "creationDate": "2024-03-01T10:15:00+01:00",
        "experimentID": "husky_braitenberg",
        "ctxId": "ctx-1",
        "MQTTPrefix": "lab",
    }
    assert list(make_simulation().to_nrp_json()) == NRP_KEYS


def test_nrp_json_serialises_state_as_a_plain_string():
    text = json.dumps(make_simulation(state=SimulationState.STARTED).to_nrp_json())
    assert '"state": "started"' in text
    assert type(make_simulation().to_nrp_json()["state"]) is str


def test_describe_adds_the_extensions_fields():
    described = make_simulation(reason="the kernel died").describe()
    assert list(described) == [*NRP_KEYS, "runtimeError", "reason", "status"]
    assert described["runtimeError"] == {"msg": "boom", "error_type": "Runtime"}
    assert described["reason"] == "the kernel died"
    assert described["status"] == {"state": "paused", "simulationTime": 1.5}


def test_defaults_of_a_new_simulation():
    simulation = Simulation(simulation_id=0, experiment_id="e")
    assert simulation.to_nrp_json() == {
        "state": "created", "simulationID": 0, "experimentConfiguration": "simulation_config.json",
        "mainScript": "main_script.py", "owner": "default-owner", "creationDate": simulation.creation_date,
        "experimentID": "e", "ctxId": None, "MQTTPrefix": "",
    }
    assert (simulation.kernel_id, simulation.simulation_dir, simulation.nrpcoresim_pid) == (None, None, None)
    assert (simulation.runtime_error, simulation.reason, simulation.last_status) == (None, None, None)


def test_dates_are_zurich_iso_8601():
    stamp = datetime.fromisoformat(now_iso())
    assert stamp.tzinfo is not None
    assert stamp.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # CET or CEST
    created = datetime.fromisoformat(Simulation(simulation_id=0, experiment_id="e").creation_date)
    assert abs(created - stamp) < timedelta(seconds=5)


def test_apply_moves_state_and_stamps_update_time():
    simulation = make_simulation(state=SimulationState.STARTED)
    simulation.apply(next_state(SimulationState.STARTED, Trigger.PAUSED))
    assert simulation.state == SimulationState.PAUSED
    assert simulation.updated_at != "2024-03-01T10:16:00+01:00"


def test_apply_of_a_silent_repeat_changes_nothing():
    simulation = make_simulation(state=SimulationState.PAUSED)
    simulation.apply(next_state(SimulationState.PAUSED, Trigger.PAUSED))
    assert simulation.state == SimulationState.PAUSED
    assert simulation.updated_at == "2024-03-01T10:16:00+01:00"


def test_apply_refuses_a_transition_from_another_state():
    simulation = make_simulation(state=SimulationState.COMPLETED)
    stale = Transition(SimulationState.PAUSED, SimulationState.STARTED, Trigger.STARTED)
    with pytest.raises(StateTransitionError) as caught:
        simulation.apply(stale)
    assert caught.value.message == "The state transition is invalid ('completed' -> 'started')"
    assert simulation.state == SimulationState.COMPLETED


# ---- LaunchRequest ------------------------------------------------------------------------------

def test_launch_with_only_the_experiment():
    assert LaunchRequest.from_body({"experimentID": "husky"}) == LaunchRequest(
        experiment_id="husky", experiment_configuration="simulation_config.json",
        main_script="main_script.py", ctx_id=None)


def test_launch_with_the_frontends_body():
    body = {"experimentID": "group/husky", "experimentConfiguration": "sim2.json",
            "mainScript": "scripts/run.py", "state": "created", "private": True, "ctxId": "c0ffee"}
    assert LaunchRequest.from_body(body) == LaunchRequest(
        experiment_id="group/husky", experiment_configuration="sim2.json", main_script="scripts/run.py",
        ctx_id="c0ffee")


def test_launch_ignores_private_false_and_unknown_keys():
    request = LaunchRequest.from_body({"experimentID": "e", "private": False, "whatever": [1]})
    assert request.experiment_id == "e"


def test_launch_nulls_mean_defaults():
    request = LaunchRequest.from_body({"experimentID": "e", "experimentConfiguration": None,
                                       "mainScript": None, "state": None, "ctxId": None})
    assert (request.experiment_configuration, request.main_script, request.ctx_id) == (
        "simulation_config.json", "main_script.py", None)


def test_launch_from_raw_json():
    assert LaunchRequest.from_body(b'{"experimentID": "e"}').experiment_id == "e"
    assert LaunchRequest.from_body('{"experimentID": "e", "mainScript": "m.py"}').main_script == "m.py"


@pytest.mark.parametrize("body", [
    {},
    {"experimentID": ""},
    {"experimentID": None},
    {"experimentID": 5},
    {"experimentID": ["e"]},
    {"experimentId": "e"},
    {"mainScript": "main_script.py"},
])
def test_launch_without_experiment_id(body):
    with pytest.raises(ClientError) as caught:
        LaunchRequest.from_body(body)
    assert caught.value.message == "experimentID not given."
    assert caught.value.http_status == 400
    assert caught.value.error_type == "Client error"


@pytest.mark.parametrize(("experiment_id", "message"), [
    ("../x", "Invalid experiment ID '../x': must not contain '..'"),
    ("a/../../b", "Invalid experiment ID 'a/../../b': must not contain '..'"),
    ("/etc", "Invalid experiment ID '/etc': must be a relative path, not an absolute one"),
    ("a\0b", "Invalid experiment ID 'a\\x00b': must not contain a NUL byte"),
    ("a\\b", "Invalid experiment ID 'a\\\\b': must use '/' between folders, not '\\'"),
    ("a//b", "Invalid experiment ID 'a//b': must not contain empty or '.' segments"),
    ("./a", "Invalid experiment ID './a': must not contain empty or '.' segments"),
    ("a/", "Invalid experiment ID 'a/': must not contain empty or '.' segments"),
])
def test_launch_refuses_experiment_ids_that_leave_the_storage(experiment_id, message):
    with pytest.raises(InvalidExperimentId) as caught:
        LaunchRequest.from_body({"experimentID": experiment_id})
    assert caught.value.message == message
    assert caught.value.http_status == 400


@pytest.mark.parametrize(("key", "value", "message"), [
    ("mainScript", "../../x.py",
     "mainScript '../../x.py' is not a file inside the experiment: it must not contain '..'"),
    ("mainScript", "/tmp/x.py",
     "mainScript '/tmp/x.py' is not a file inside the experiment: "
     "it must be a relative path, not an absolute one"),
    ("mainScript", "", "mainScript '' is not a file inside the experiment: it must not be empty"),
    ("mainScript", 3, "mainScript 3 is not a file inside the experiment: it must be a string, not int"),
    ("experimentConfiguration", "../other/simulation_config.json",
     "experimentConfiguration '../other/simulation_config.json' is not a file inside the experiment: "
     "it must not contain '..'"),
    ("experimentConfiguration", "/etc/passwd",
     "experimentConfiguration '/etc/passwd' is not a file inside the experiment: "
     "it must be a relative path, not an absolute one"),
])
def test_launch_refuses_files_outside_the_experiment(key, value, message):
    with pytest.raises(ClientError) as caught:
        LaunchRequest.from_body({"experimentID": "e", key: value})
    assert caught.value.message == message
    assert caught.value.http_status == 400


@pytest.mark.parametrize("state", ["paused", "started", "initialized", 1])
def test_launch_accepts_only_created_as_initial_state(state):
    with pytest.raises(ClientError) as caught:
        LaunchRequest.from_body({"experimentID": "e", "state": state})
    assert caught.value.message == (f"Invalid initial state requested: ({state}); "
                                    "a simulation is launched in state 'created'")


def test_launch_refuses_a_ctx_id_that_is_not_a_string():
    with pytest.raises(ClientError) as caught:
        LaunchRequest.from_body({"experimentID": "e", "ctxId": 12})
    assert caught.value.message == "ctxId must be a string, not a number"


@pytest.mark.parametrize(("body", "message"), [
    ([], "The request body must be a JSON object, not an array"),
    (["experimentID"], "The request body must be a JSON object, not an array"),
    ("husky", "The request body is not valid JSON: Expecting value: line 1 column 1 (char 0)"),
    (b'"husky"', "The request body must be a JSON object, not a string"),
    (b"17", "The request body must be a JSON object, not a number"),
    (b"null", "The request body must be a JSON object, not null"),
    (None, "The request body must be a JSON object, not null"),
    (True, "The request body must be a JSON object, not a boolean"),
    (b"", "The request body is empty; a JSON object is required"),
    ("  ", "The request body is empty; a JSON object is required"),
    (b'{"experimentID": ', "The request body is not valid JSON: Expecting value: line 1 column 18 (char 17)"),
])
def test_bodies_that_are_not_json_objects(body, message):
    for parse in (LaunchRequest.from_body, StateRequest.from_body):
        with pytest.raises(ClientError) as caught:
            parse(body)
        assert caught.value.message == message
        assert caught.value.http_status == 400


# ---- StateRequest -------------------------------------------------------------------------------

@pytest.mark.parametrize("state", ["started", "paused", "stopped", "foobar", ""])
def test_state_request_keeps_the_string_for_the_lifecycle(state):
    assert StateRequest.from_body({"state": state}) == StateRequest(state)
    assert StateRequest.from_body(json.dumps({"state": state}).encode()).state == state


@pytest.mark.parametrize("body", [{}, {"state": None}, {"State": "started"}])
def test_state_not_given(body):
    with pytest.raises(ClientError) as caught:
        StateRequest.from_body(body)
    assert caught.value.message == "state not given."
    assert caught.value.error_type == "Client error"


@pytest.mark.parametrize(("value", "shown"), [(5, "5"), (True, "true"), (["started"], '["started"]')])
def test_a_state_that_is_not_a_string_is_an_invalid_state(value, shown):
    with pytest.raises(StateTransitionError) as caught:
        StateRequest.from_body({"state": value})
    assert caught.value.message == f"Invalid state requested: ({shown})"
