"""Authentication and authorization of every route: the check_auth CI check, token refusals, NRP's
owner check with several users, and what a deployment's Authorizer is asked (jupyter.md §1.3)."""

import copy
import importlib.util
import json
import os
import subprocess
import sys

import pytest
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from tornado import web, websocket
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from tests.conftest import REPO
from tests.nrp_jupyter.identity import USER_HEADER, RecordingAuthorizer

pytestmark = pytest.mark.timeout(90)

CHECK_AUTH = REPO / "scripts" / "check_auth.py"
RESOURCE = "nrp:simulations"
NOT_OWNER = {"message": "Insufficient permissions to apply changes. Operation only allowed by simulation owner",
             "type": "Client error", "data": None}
HEADER_IDENTITY = {"identity_provider_class": "tests.nrp_jupyter.identity.HeaderIdentityProvider"}
RECORDING_AUTHORIZER = {"authorizer_class": "tests.nrp_jupyter.identity.RecordingAuthorizer"}
# Every route and verb the extension serves, on simulation 0 (which need not exist).
ROUTES = [
    ("GET", "simulation"),
    ("POST", "simulation"),
    ("GET", "simulation/0"),
    ("DELETE", "simulation/0"),
    ("GET", "simulation/0/state"),
    ("PUT", "simulation/0/state"),
    ("GET", "simulation/0/logs"),
    ("GET", "version"),
    ("GET", "openapi.json"),
    ("GET", "experiments"),
]


@pytest.fixture
def server_auth():
    """ServerApp traits of a test (identity provider, authorizer); parametrize to set them."""
    return {}


@pytest.fixture
def jp_server_config(jp_server_config, server_auth):
    config = copy.deepcopy(jp_server_config)
    config["ServerApp"].update(server_auth)
    return config


@pytest.fixture(autouse=True)
def fresh_authorizer():
    RecordingAuthorizer.asked = []
    RecordingAuthorizer.denied = set()
    yield
    RecordingAuthorizer.asked = []
    RecordingAuthorizer.denied = set()


@pytest.fixture
def send(http_server_client, jp_http_port, jp_base_url, jp_auth_header):
    """A request to `<base_url>nrp/<path>` with exactly the headers given (the token only when
    asked for); answers (code, decoded JSON body or None). `http_server_client` makes the server
    listen."""

    async def send(method, path, *, token=True, user=None, body=None, headers=None):
        headers = dict(headers or {})
        if token:
            headers.update(jp_auth_header)
        if user is not None:
            headers[USER_HEADER] = user
        if method not in ("POST", "PUT"):
            body = None
        elif body is None:
            body = {}
        request = HTTPRequest(f"http://localhost:{jp_http_port}{jp_base_url}nrp/{path}", method=method,
                              headers=headers, body=None if body is None else json.dumps(body),
                              follow_redirects=False)
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as error:
            response = error.response
        text = response.body.decode() if response.body else ""
        return response.code, (json.loads(text) if text else None)

    return send


def ws_url(jp_http_port, jp_base_url, query=""):
    return f"ws://localhost:{jp_http_port}{jp_base_url}nrp/events{query}"


# -- the CI check --------------------------------------------------------------------------------


def load_check_auth():
    spec = importlib.util.spec_from_file_location("check_auth", CHECK_AUTH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_check_auth_script_passes(tmp_path):
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    result = subprocess.run(
        [sys.executable, str(CHECK_AUTH), f"--NrpJupyterApp.database_path={tmp_path / 'nrp.sqlite'}",
         "--NrpJupyterApp.mqtt_broker=127.0.0.1:1"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "nrp_jupyter: every endpoint is authenticated and authorized" in result.stdout
    assert (tmp_path / "nrp.sqlite").is_file()


class Undecorated(APIHandler):
    async def get(self):
        pass

    @web.authenticated
    async def put(self):
        pass


class Decorated(APIHandler):
    @web.authenticated
    @authorized
    async def get(self):
        pass

    @web.authenticated
    @authorized(action="execute")
    async def post(self):
        pass


class SocketWithoutPreGet(JupyterHandler, websocket.WebSocketHandler):
    @ws_authenticated
    async def get(self, *args, **kwargs):
        await super().get(*args, **kwargs)


class SocketWithoutAuthentication(JupyterHandler, websocket.WebSocketHandler):
    async def pre_get(self):
        pass

    async def get(self, *args, **kwargs):
        await self.pre_get()
        await super().get(*args, **kwargs)


def test_check_auth_names_each_unprotected_verb():
    check_auth = load_check_auth()
    assert check_auth.problems_of(Decorated, "/ok") == []
    assert check_auth.problems_of(Undecorated, "/x") == [
        "- GET of Undecorated (/x) is not @web.authenticated",
        "- GET of Undecorated (/x) is not @authorized",
        "- PUT of Undecorated (/x) is not @authorized",
    ]
    assert check_auth.problems_of(SocketWithoutPreGet, "/ws") == [
        "- WebSocket GET of SocketWithoutPreGet (/ws) authorizes nothing before the upgrade (no pre_get)"]
    assert check_auth.problems_of(SocketWithoutAuthentication, "/ws") == [
        "- WebSocket GET of SocketWithoutAuthentication (/ws) is not @ws_authenticated"]


# -- tokens --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_refuses_a_request_without_the_token(nrp, send, method, path):
    code, body = await send(method, path, token=False, body={"experimentID": "tf_exchange"})
    assert code == 403
    assert body["type"] == "Client error"
    code, body = await send(method, path, token=False, headers={"Authorization": "token wrong"},
                            body={"experimentID": "tf_exchange"})
    assert code == 403
    assert (await nrp.call("GET", "simulation"))[:2] == (200, [])


async def test_a_wrong_token_in_the_query_is_refused(send):
    assert (await send("GET", "simulation?token=wrong", token=False))[0] == 403
    assert (await send("GET", "simulation"))[:2] == (200, [])


async def test_the_websocket_upgrade_refuses_a_request_without_the_token(http_server_client, jp_http_port,
                                                                        jp_base_url, jp_auth_header):
    for headers in ({}, {"Authorization": "token wrong"}):
        with pytest.raises(HTTPClientError) as caught:
            await websocket.websocket_connect(HTTPRequest(ws_url(jp_http_port, jp_base_url), headers=headers))
        assert caught.value.code == 403
    with pytest.raises(HTTPClientError) as caught:
        await websocket.websocket_connect(ws_url(jp_http_port, jp_base_url, "?token=wrong"))
    assert caught.value.code == 403
    connection = await websocket.websocket_connect(HTTPRequest(ws_url(jp_http_port, jp_base_url),
                                                               headers=jp_auth_header))
    connection.close()


# -- owners ------------------------------------------------------------------------------------


@pytest.mark.parametrize("server_auth", [HEADER_IDENTITY])
async def test_only_the_owner_changes_or_deletes_a_simulation_and_anyone_reads_it(nrp, send, server_auth):
    assert (await send("GET", "simulation", user=None))[0] == 403  # the token alone names nobody
    assert (await send("GET", "simulation", token=False, user="alice"))[0] == 403

    code, launched = await send("POST", "simulation", user="alice", body={"experimentID": "tf_exchange"})
    assert code == 201, launched
    assert launched["owner"] == "alice"
    path = f"simulation/{launched['simulationID']}"

    for state in ("started", "stopped", "foobar"):
        assert await send("PUT", f"{path}/state", user="bob", body={"state": state}) == (401, NOT_OWNER)
    assert await send("DELETE", path, user="bob") == (401, NOT_OWNER)
    assert await send("GET", f"{path}/state", user="bob") == (200, {"state": "paused"})
    assert await send("GET", path, user="bob") == (200, launched)
    assert await send("GET", "simulation", user="bob") == (200, [launched])
    assert (await send("GET", f"{path}/logs", user="bob"))[0] == 200

    assert await send("PUT", f"{path}/state", user="alice", body={"state": "started"}) == (200, {"state": "started"})
    assert await send("PUT", f"{path}/state", user="alice", body={"state": "stopped"}) == (200, {"state": "stopped"})
    assert await send("DELETE", path, user="bob") == (401, NOT_OWNER)
    assert await send("DELETE", path, user="alice") == (204, None)


# -- authorization -----------------------------------------------------------------------------


def asked_since(start):
    return [(action, resource) for _, action, resource in RecordingAuthorizer.asked[start:]]


@pytest.mark.parametrize("server_auth", [RECORDING_AUTHORIZER])
async def test_launching_and_changing_states_are_execute_and_can_be_denied(nrp, send, server_auth):
    RecordingAuthorizer.denied = {("execute", RESOURCE)}
    start = len(RecordingAuthorizer.asked)
    code, body = await send("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 403
    assert body["message"] == f"User is not authorized to execute on resource: {RESOURCE}."
    assert asked_since(start) == [("execute", RESOURCE)]
    assert (await send("PUT", "simulation/0/state", body={"state": "started"}))[0] == 403
    assert (await send("GET", "simulation"))[:2] == (200, [])

    RecordingAuthorizer.denied = set()
    code, launched = await send("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 201, launched
    path = f"simulation/{launched['simulationID']}"

    RecordingAuthorizer.denied = {("execute", RESOURCE)}
    assert (await send("PUT", f"{path}/state", body={"state": "started"}))[0] == 403
    assert await send("GET", f"{path}/state") == (200, {"state": "paused"})
    RecordingAuthorizer.denied = set()
    assert await send("PUT", f"{path}/state", body={"state": "stopped"}) == (200, {"state": "stopped"})


@pytest.mark.parametrize("server_auth", [RECORDING_AUTHORIZER])
async def test_each_route_asks_the_authorizer_for_its_action_on_the_nrp_resource(send, server_auth):
    expected = {"GET": "read", "POST": "execute", "PUT": "execute", "DELETE": "write"}
    RecordingAuthorizer.denied = {(action, RESOURCE) for action in expected.values()}
    for method, path in ROUTES:
        start = len(RecordingAuthorizer.asked)
        code, _ = await send(method, path, body={"experimentID": "tf_exchange", "state": "started"})
        assert code == 403, (method, path)
        assert asked_since(start) == [(expected[method], RESOURCE)], (method, path)

    RecordingAuthorizer.denied = set()
    start = len(RecordingAuthorizer.asked)
    assert (await send("GET", "simulation/0"))[0] == 404  # authorized first, then looked up
    assert (await send("DELETE", "simulation/0"))[0] == 404
    assert asked_since(start) == [("read", RESOURCE), ("write", RESOURCE)]


@pytest.mark.parametrize("server_auth", [RECORDING_AUTHORIZER])
async def test_the_websocket_asks_to_read_the_nrp_resource(http_server_client, jp_http_port, jp_base_url,
                                                           jp_auth_header, server_auth):
    request = HTTPRequest(ws_url(jp_http_port, jp_base_url), headers=jp_auth_header)
    RecordingAuthorizer.denied = {("read", RESOURCE)}
    with pytest.raises(HTTPClientError) as caught:
        await websocket.websocket_connect(request)
    assert caught.value.code == 403
    assert asked_since(0) == [("read", RESOURCE)]

    RecordingAuthorizer.denied = set()
    connection = await websocket.websocket_connect(request)
    connection.close()
    assert asked_since(0) == [("read", RESOURCE), ("read", RESOURCE)]
