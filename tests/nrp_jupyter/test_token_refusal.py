"""A request without the server's token is refused with words that say so, on every /nrp/ route
(Jupyter's own answer to a POST names the `_xsrf` field it checks next), and the right token
still passes. Against the session's real server."""

import json
import urllib.error
import urllib.request

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

pytestmark = pytest.mark.timeout(60)

# Every route and verb the extension serves, on simulation 999999 (which need not exist).
ROUTES = [("GET", "simulation"), ("POST", "simulation"), ("GET", "simulation/999999"),
          ("DELETE", "simulation/999999"), ("GET", "simulation/999999/state"), ("PUT", "simulation/999999/state"),
          ("GET", "simulation/999999/logs"), ("GET", "simulation/999999/details"), ("GET", "version"),
          ("GET", "openapi.json"), ("GET", "experiments"), ("GET", "no/such/route")]
WRONG = "The token is wrong"
MISSING = "No token"


def send(server, method, path, headers):
    body = json.dumps({"experimentID": "tf_exchange", "state": "stopped"}).encode() if method in ("POST", "PUT") \
        else None
    request = urllib.request.Request(f"{server.url}nrp/{path}", method=method, data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_every_route_says_the_token_is_missing_or_wrong(live_server, method, path):
    for headers, query, words in (({}, "", MISSING), ({"Authorization": "token wrong"}, "", WRONG),
                                  ({}, "?token=wrong", WRONG)):
        code, body = send(live_server, method, path + query, headers)
        assert code == 403, (headers, query, body)
        answer = json.loads(body)
        assert answer["message"].startswith(words) and answer["type"] == "Client error", answer
        assert "_xsrf" not in answer["message"]
    code, body = send(live_server, method, path, {"Authorization": f"token {live_server.token}"})
    assert code not in (401, 403), body


def test_the_event_stream_says_the_token_is_wrong(live_server):
    url = f"ws://127.0.0.1:{live_server.port}/nrp/events"
    for headers, words in (({}, MISSING), ({"Authorization": "token wrong"}, WRONG)):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, additional_headers=headers, open_timeout=20).close()
        assert refused.value.response.status_code == 403
        assert json.loads(refused.value.response.body)["message"].startswith(words)
    connect(url, additional_headers={"Authorization": f"token {live_server.token}"}, open_timeout=20).close()
