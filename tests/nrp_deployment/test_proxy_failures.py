"""Every other way the proxy can fail a request of the server's, each a typed error naming the
proxy: answers its API does not promise (502), a refusal of the token by the storage (the proxy's
477), a request that takes longer than `nrp_proxy_timeout` (503), and experiments past the bounds
on files and folder depth (413). A refused launch leaves nothing behind."""

import json

import pytest

from tests.nrp_deployment.conftest import ALICE, MAX_DEPTH, MAX_ENTRIES, TOKENS, launch

pytestmark = pytest.mark.timeout(120)


def _refused_launch(nrp_server, experiment_id: str, token: str = TOKENS[ALICE]):
    count = len(nrp_server.fetch("GET", "simulation")[1])
    status, body, _ = launch(nrp_server, experiment_id, token)
    assert len(nrp_server.fetch("GET", "simulation")[1]) == count
    assert not [name for name in nrp_server.leftover_dirs() if name.startswith("nrp.fetch.")]
    return status, body


def test_an_identity_without_a_user_id_is_a_502(nrp_server, stand_in):
    stand_in.users["no-id-token"] = ALICE
    stand_in.answers["/identity/me"] = (200, json.dumps({"displayName": "someone"}).encode())
    try:
        status, body, _ = nrp_server.fetch("GET", "simulation/0", bearer="no-id-token")
    finally:
        del stand_in.answers["/identity/me"]
    assert status == 502, body
    assert body["message"] == (f"The NRP proxy at {stand_in.url} answered GET /identity/me without a user id: "
                               f"{json.dumps({'displayName': 'someone'})}")


@pytest.mark.parametrize("answer,problem", [
    ((200, b'{"not": "a listing"}'), "answered GET /storage/tf_exchange_0 with something other than a folder listing"),
    ((500, b"Internal error"), "answered HTTP 500 to GET /storage/tf_exchange_0: Internal error"),
])
def test_a_listing_the_proxy_spoils_is_a_502(nrp_server, stand_in, answer, problem):
    stand_in.answers["/storage/tf_exchange_0"] = answer
    try:
        status, body = _refused_launch(nrp_server, "tf_exchange_0")
    finally:
        del stand_in.answers["/storage/tf_exchange_0"]
    assert status == 502, body
    assert body["message"].startswith(f"The NRP proxy at {stand_in.url} {problem}")


def test_the_storage_refusing_a_token_is_the_proxys_refusal(nrp_server, stand_in):
    login = {"mode": "local", "url": "/authentication/loginpage?origin=FS", "clientId": "nrp"}
    stand_in.answers["/storage/tf_exchange_0"] = (477, json.dumps(login).encode())
    try:
        status, body = _refused_launch(nrp_server, "tf_exchange_0")
    finally:
        del stand_in.answers["/storage/tf_exchange_0"]
    assert status == 477, body
    assert body["url"] == login["url"] and "refused the bearer token (HTTP 477)" in body["message"]


def test_a_name_listed_twice_is_a_502(nrp_server, stand_in):
    stand_in.extra_entries["traversal_0"] = [{"name": "main_script.py", "uuid": "traversal_0/main_script.py",
                                              "size": 1, "type": "file"}]
    try:
        status, body = _refused_launch(nrp_server, "traversal_0")
    finally:
        del stand_in.extra_entries["traversal_0"]
    assert status == 502, body
    assert body["message"] == (f"The NRP proxy at {stand_in.url} listed 'main_script.py' twice in the "
                               f"experiment 'traversal_0'")


@pytest.mark.parametrize("experiment_id,what", [
    ("deep_0", f"its folders are nested more than {MAX_DEPTH} deep"),
    ("crowded_0", f"it has more than {MAX_ENTRIES} files and folders"),
])
def test_an_experiment_past_the_bounds_on_entries_is_a_413(nrp_server, experiment_id, what):
    status, body = _refused_launch(nrp_server, experiment_id)
    assert status == 413, body
    assert body["message"] == f"The experiment '{experiment_id}' is too large to launch: {what}"


def test_a_proxy_slower_than_the_timeout_is_a_503(nrp_server, stand_in):
    stand_in.users["slow-token"] = ALICE
    stand_in.slow_tokens["slow-token"] = 12.0  # the server waits 10 s (nrp_proxy_timeout)
    status, body, _ = nrp_server.fetch("GET", "simulation/0", bearer="slow-token")
    assert status == 503, body
    assert body["message"].startswith(f"The NRP proxy at {stand_in.url} cannot be reached: GET /identity/me: ")
    assert "Timeout" in body["message"]
