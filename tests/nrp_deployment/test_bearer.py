"""NRP's bearer tokens on the /nrp/ routes: the proxy names the user, who owns what they launch;
refused and expired tokens are 401 in NRP's error body; Jupyter's own token keeps working; XSRF
never refuses a bearer request."""

import pytest

from tests.nrp_deployment.conftest import ALICE, BOB, IDENTITY_CACHE_S, TOKENS, launch
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)


def test_the_owner_is_the_nrp_user_and_only_they_change_the_simulation(nrp_server, stand_in):
    status, simulation, _ = launch(nrp_server, "tf_exchange_0", TOKENS[ALICE])
    assert status == 201, simulation
    assert simulation["owner"] == ALICE
    sid = simulation["simulationID"]
    assert stand_in.asked("GET", "/identity/me")[-1].authorization == f"Bearer {TOKENS[ALICE]}"

    status, body, _ = nrp_server.fetch("PUT", f"simulation/{sid}/state", bearer=TOKENS[BOB],
                                       body={"state": "started"})
    assert status == 401 and "only allowed by simulation owner" in body["message"]
    status, body, _ = nrp_server.fetch("GET", f"simulation/{sid}", bearer=TOKENS[BOB])
    assert status == 200 and body["owner"] == ALICE  # reading is anyone's, as in NRP
    assert nrp_server.fetch("PUT", f"simulation/{sid}/state", bearer=TOKENS[ALICE], body={"state": "started"})[0] == 200
    assert nrp_server.stop_as(sid, TOKENS[ALICE])[0] == 200


@pytest.mark.parametrize("token", ["no-token", "false", "00000000-unknown-token"])
def test_a_token_the_proxy_refuses_is_refused_as_the_proxy_refuses_it(nrp_server, stand_in, token):
    # nrp-proxy's 477 passes through with its login hint: NRP's frontend then sends the user to log in.
    for method, path, body in (("POST", "simulation", {"experimentID": "tf_exchange_0"}),
                               ("GET", "simulation/0/state", None), ("GET", "openapi.json", None)):
        status, answer, _ = nrp_server.fetch(method, path, bearer=token, body=body)
        assert status == 477, (method, path, answer)
        assert answer == {"message": f"The NRP proxy at {stand_in.url} refused the bearer token (HTTP 477): it is "
                                     f"unknown or has expired; log in again",
                          "type": "Client error", "data": None, "mode": "local",
                          "url": "/authentication/loginpage?origin=FS", "clientId": "nrp"}


@pytest.mark.parametrize("proxy_status", [401, 403, 404])
def test_any_other_refusal_is_a_401_naming_the_reason(nrp_server, stand_in, proxy_status):
    stand_in.fail_with = proxy_status
    try:
        status, answer, headers = nrp_server.fetch("POST", "simulation", bearer=f"refused-with-{proxy_status}",
                                                   body={"experimentID": "tf_exchange_0"})
    finally:
        stand_in.fail_with = None
    assert status == 401, answer
    assert answer == {"message": f"The NRP proxy at {stand_in.url} refused the bearer token (HTTP {proxy_status}): "
                                 f"it is unknown or has expired; log in again", "type": "Client error", "data": None}
    assert headers["WWW-Authenticate"].startswith("Bearer")
    assert "_xsrf" not in answer["message"]


def test_an_expired_token_is_refused_once_the_cache_lets_it_go(nrp_server, stand_in):
    token = "c0ffee00-expiring-token"
    stand_in.users[token] = ALICE
    assert nrp_server.fetch("GET", "openapi.json", bearer=token)[0] == 200
    del stand_in.users[token]  # the user logged out, or the proxy forgot the token

    def refused():
        status, body, _ = nrp_server.fetch("GET", "openapi.json", bearer=token)
        return status == 477 and "refused the bearer token" in body["message"]

    eventually(refused, within_s=IDENTITY_CACHE_S + 10, what="the proxy's refusal of the expired token")


def test_answers_are_cached_per_token(nrp_server, stand_in):
    token = "cafe0000-cached-token"
    stand_in.users[token] = BOB
    before = len(stand_in.asked("GET", "/identity/me"))
    for _ in range(3):
        assert nrp_server.fetch("GET", "simulation/0/state", bearer=token)[0] in (200, 404)
    # Three requests within the cache time (0.3 s): at most two lookups on a slow machine, not three.
    assert len(stand_in.asked("GET", "/identity/me")) - before < 3


def test_jupyters_own_token_keeps_working_beside_bearer_tokens(nrp_server):
    assert nrp_server.fetch("GET", "openapi.json", jupyter_token=True)[0] == 200
    # jupyter_server takes its token after `Bearer` too; it is not sent to the proxy.
    assert nrp_server.fetch("GET", "openapi.json", bearer=nrp_server.token)[0] == 200
    status, body, _ = nrp_server.fetch("POST", "simulation", jupyter_token=True, body={"experimentID": "tf_exchange_0"})
    # With Jupyter's token the experiment is looked up in the local storage, which is empty here.
    assert status == 404 and "not found in the experiment storage" in body["message"]


def test_a_bearer_post_is_never_refused_for_xsrf(nrp_server):
    # A browser sends its cookies along (same origin behind haproxy); no _xsrf argument, as NRP's frontend.
    status, body, _ = nrp_server.fetch("POST", "simulation", bearer=TOKENS[ALICE], body={"state": "created"},
                                       headers={"Cookie": "_xsrf=2|forged|cookie|1"})
    assert status == 400, body
    assert "experimentID" in body["message"]


def test_a_proxy_error_is_a_502_naming_the_proxy(nrp_server, stand_in):
    stand_in.users["boom-token"] = ALICE
    stand_in.fail_with = 500
    try:
        status, body, _ = nrp_server.fetch("GET", "openapi.json", bearer="boom-token")
    finally:
        stand_in.fail_with = None
    assert status == 502, body
    assert body["message"].startswith(f"The NRP proxy at {stand_in.url} answered HTTP 500 to GET /identity/me")
    assert body["type"] == "General error"
