"""Black box: requests past the server's bounds are a 400 that names the bound, never a 5xx, and no
message repeats a huge value or names a place on the server's disk."""

import json

import pytest

from nrp_jupyter.server.limits import MAX_BODY_BYTES, MAX_ID_DIGITS, MAX_PATH_LENGTH, MAX_SEGMENT_LENGTH
from tests.nrp_jupyter.test_rest_api import fetch_raw, kernel_ids

pytestmark = pytest.mark.timeout(60)

# A message may repeat a value shortened; no message needs to be longer than this.
LONGEST_MESSAGE = 300


def assert_refused(code, answer, *words):
    assert code == 400, answer
    assert answer["type"] == "Client error"
    assert len(answer["message"]) < LONGEST_MESSAGE, answer["message"][:LONGEST_MESSAGE]
    for word in words:
        assert word in answer["message"]


@pytest.mark.parametrize("path", [("simulation", "{id}"), ("simulation", "{id}", "state"),
                                  ("simulation", "{id}", "logs"), ("simulation", "{id}", "details")])
async def test_a_simulation_id_past_the_int_conversion_limit_is_a_client_error(nrp, path):
    long_id = "9" * 4301
    code, answer, _ = await nrp.call("GET", *(part.format(id=long_id) for part in path))
    assert_refused(code, answer, f"at most {MAX_ID_DIGITS} digits", "4301")


async def test_a_state_change_on_a_huge_id_is_a_client_error(nrp):
    code, answer, _ = await nrp.put_state("1" * 5000, "started")
    assert_refused(code, answer, f"at most {MAX_ID_DIGITS} digits")


async def test_an_id_of_the_longest_allowed_length_is_simply_not_found(nrp):
    code, _, _ = await nrp.call("GET", "simulation", "9" * MAX_ID_DIGITS)
    assert code == 404


async def test_an_experiment_id_of_ten_thousand_characters_is_a_client_error(nrp, jp_fetch, jp_root_dir):
    code, answer, _ = await nrp.launch("x" * 10_000)
    assert_refused(code, answer, f"at most {MAX_PATH_LENGTH}", "10000 characters")
    assert str(jp_root_dir) not in answer["message"]
    assert await kernel_ids(jp_fetch) == []


async def test_an_experiment_id_with_an_overlong_folder_name_is_a_client_error(nrp):
    code, answer, _ = await nrp.launch("a/" + "b" * 300)
    assert_refused(code, answer, f"at most {MAX_SEGMENT_LENGTH}")


@pytest.mark.parametrize("key", ["experimentConfiguration", "mainScript"])
async def test_a_configuration_or_script_name_of_ten_thousand_characters_is_a_client_error(nrp, jp_fetch, key):
    code, answer, _ = await nrp.launch("tf_exchange", **{key: "c" * 10_000})
    assert_refused(code, answer, key, f"at most {MAX_PATH_LENGTH}")
    assert (await nrp.call("GET", "simulation"))[1] == []
    assert await kernel_ids(jp_fetch) == []


async def test_a_body_past_the_size_bound_is_a_client_error(nrp, jp_fetch):
    body = json.dumps({"experimentID": "tf_exchange", "padding": "p" * MAX_BODY_BYTES}).encode()
    code, answer = await fetch_raw(jp_fetch, "POST", "simulation", body=body)
    assert_refused(code, answer, f"at most {MAX_BODY_BYTES} are accepted")
    assert (await nrp.call("GET", "simulation"))[1] == []


async def test_a_deeply_nested_body_is_a_client_error(nrp, jp_fetch):
    body = ("[" * 30_000 + "]" * 30_000).encode()
    code, answer = await fetch_raw(jp_fetch, "POST", "simulation", body=body)
    assert_refused(code, answer, "nested too deeply")


async def test_an_invalid_state_value_is_not_echoed_whole(nrp):
    code, answer, _ = await nrp.launch()
    simulation_id = answer["simulationID"]
    code, answer, _ = await nrp.put_state(simulation_id, "s" * 20_000)
    assert code == 400
    assert answer["type"] == "State Transition error"
    assert answer["message"].startswith("Invalid state requested: (sss")
    assert "20000 characters" in answer["message"] and len(answer["message"]) < LONGEST_MESSAGE
    assert await nrp.state(simulation_id) == "paused"


async def test_an_unknown_experiment_is_named_without_the_storage_path(nrp, jp_root_dir):
    code, answer, _ = await nrp.launch("no_such_experiment")
    assert code == 404
    assert answer["message"] == "The experiment 'no_such_experiment' was not found in the experiment storage"
    assert str(jp_root_dir) not in json.dumps(answer)


async def test_the_events_socket_refuses_a_huge_simulation_filter(jp_fetch):
    from tornado.httpclient import HTTPClientError

    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("nrp", "events", params={"simulation": "7" * 5000})
    assert refused.value.code == 400
