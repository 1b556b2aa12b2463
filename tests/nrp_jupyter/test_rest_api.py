"""Black box: every code and body of NRP's REST API (nrp.md §1.3, §1.11) on a real Jupyter server,
real experiment kernels and a real mosquitto."""

import json
import re
import shutil
import urllib.parse

import pytest
from tornado.httpclient import HTTPClientError

from nrp_jupyter.server.handlers import handlers
from tests.nrp_jupyter.conftest import wait_message

pytestmark = pytest.mark.timeout(120)

NOT_FOUND = {"message": "The simulation with the given ID was not found", "type": "Client error", "data": None}
FINALIZED = "The state transition is invalid (The simulation requested is finalized)"
NRP_JSON_KEYS = {"state", "simulationID", "experimentConfiguration", "mainScript", "owner", "creationDate",
                 "experimentID", "ctxId", "MQTTPrefix"}
BROKEN_SCRIPT = """\
# A main script that does not compile: the error is on line 4.
import time

while True
    nrp.run_loop()
"""
BROKEN_LINE = 4


async def fetch_raw(jp_fetch, method, *path, body=None):
    """A request with a body sent as is (bytes), for bodies that are not JSON."""
    try:
        response = await jp_fetch("nrp", *path, method=method, body=body, allow_nonstandard_methods=True)
    except HTTPClientError as error:
        response = error.response
    text = response.body.decode() if response.body else ""
    return response.code, (json.loads(text) if text else None)


async def kernel_ids(jp_fetch):
    response = await jp_fetch("api", "kernels")
    return [kernel["id"] for kernel in json.loads(response.body)]


def simulation_dirs(tmp_path):
    folder = tmp_path / "simulations"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def copy_experiment(experiments_root, name, source="tf_exchange"):
    shutil.copytree(experiments_root / source, experiments_root / name)
    return experiments_root / name


# -- launch: requests refused before anything starts ----------------------------------------------


@pytest.mark.parametrize("body", [{}, {"experimentConfiguration": "simulation_config.json"}, {"experimentID": ""},
                                  {"experimentID": None}])
async def test_launch_without_experiment_id_is_a_client_error(nrp, body):
    code, answer, _ = await nrp.call("POST", "simulation", body=body)
    assert (code, answer) == (400, {"message": "experimentID not given.", "type": "Client error", "data": None})


@pytest.mark.parametrize(("body", "words"), [
    (b'["tf_exchange"]', "must be a JSON object, not an array"),
    (b'"tf_exchange"', "must be a JSON object, not a string"),
    (b"{experimentID: tf_exchange}", "not valid JSON"),
    (b"", "JSON object"),
])
async def test_launch_with_a_body_that_is_not_a_json_object_is_a_client_error(nrp, jp_fetch, body, words):
    code, answer = await fetch_raw(jp_fetch, "POST", "simulation", body=body)
    assert code == 400
    assert answer["type"] == "Client error"
    assert words in answer["message"]
    assert (await nrp.call("GET", "simulation"))[1] == []


async def test_launch_of_an_unknown_experiment_is_not_found(nrp, jp_fetch, tmp_path):
    code, answer, _ = await nrp.launch("no_such_experiment")
    assert code == 404
    assert answer["type"] == "Client error"
    assert "'no_such_experiment' was not found" in answer["message"]
    assert (await nrp.call("GET", "simulation"))[1] == []
    assert await kernel_ids(jp_fetch) == []


@pytest.mark.parametrize("experiment_id", ["../x", "/etc", "a/../../b", "tf_exchange/../../tf_exchange"])
async def test_experiment_ids_that_leave_the_storage_are_refused(nrp, jp_fetch, tmp_path, jp_root_dir,
                                                                 experiment_id):
    before = sorted(path.name for path in jp_root_dir.iterdir())
    code, answer, _ = await nrp.launch(experiment_id)
    assert code == 400
    assert answer["type"] == "Client error"
    assert answer["message"].startswith(f"Invalid experiment ID {experiment_id!r}")
    assert (await nrp.call("GET", "simulation"))[1] == []
    assert await kernel_ids(jp_fetch) == []
    assert simulation_dirs(tmp_path) == []
    assert sorted(path.name for path in jp_root_dir.iterdir()) == before


async def test_an_invalid_config_is_refused_naming_file_and_path_before_a_kernel_starts(
        nrp, jp_fetch, experiments_root, tmp_path):
    folder = copy_experiment(experiments_root, "bad_config")
    config = json.loads((folder / "simulation_config.json").read_text())
    config["EngineConfigs"][0]["EngineTimestep"] = "fast"
    (folder / "simulation_config.json").write_text(json.dumps(config))

    code, answer, _ = await nrp.launch("bad_config")
    assert code == 400
    assert answer["type"] == "Client error"
    assert "bad_config/simulation_config.json" in answer["message"]
    assert str(experiments_root) not in answer["message"]  # no server paths in answers
    assert "EngineConfigs[0].EngineTimestep" in answer["message"]
    assert "'fast' is not of type 'number'" in answer["message"]
    assert await kernel_ids(jp_fetch) == []
    assert (await nrp.call("GET", "simulation"))[1] == []
    assert simulation_dirs(tmp_path) == []


async def test_a_missing_main_script_is_refused_naming_main_script(nrp, jp_fetch, experiments_root):
    (copy_experiment(experiments_root, "no_script") / "main_script.py").unlink()
    code, answer, _ = await nrp.launch("no_script")
    assert code == 400
    assert answer["type"] == "Client error"
    assert answer["message"].startswith("mainScript: main_script.py not found")
    code, answer, _ = await nrp.launch("tf_exchange", mainScript="other_script.py")
    assert (code, answer["message"][:30]) == (400, "mainScript: other_script.py no")
    assert await kernel_ids(jp_fetch) == []


# -- unknown ids, methods, version --------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", ("simulation", "7"), None),
    ("GET", ("simulation", "7", "state"), None),
    ("GET", ("simulation", "7", "logs"), None),
    ("PUT", ("simulation", "7", "state"), {"state": "started"}),
    ("PUT", ("simulation", "7", "state"), {}),
    ("DELETE", ("simulation", "7"), None),
])
async def test_an_unknown_simulation_is_not_found(nrp, method, path, body):
    code, answer, _ = await nrp.call(method, *path, body=body)
    assert (code, answer) == (404, NOT_FOUND)


@pytest.mark.parametrize(("method", "path"), [
    ("PUT", ("simulation",)),
    ("DELETE", ("simulation",)),
    ("POST", ("simulation", "0")),
    ("POST", ("simulation", "0", "state")),
    ("DELETE", ("simulation", "0", "state")),
    ("POST", ("version",)),
])
async def test_a_method_the_route_does_not_have_is_405(nrp, method, path):
    code, _, _ = await nrp.call(method, *path, body={"state": "started"})
    assert code == 405


async def test_an_unknown_route_is_404(jp_fetch):
    for path in (("simulations",), ("simulation", "abc"), ("simulation", "-1"), ("simulation", "0", "stat")):
        with pytest.raises(HTTPClientError) as caught:
            await jp_fetch("nrp", *path)
        assert caught.value.code == 404, path


async def test_version(nrp):
    from nrp_jupyter import __version__

    code, answer, headers = await nrp.call("GET", "version")
    assert code == 200
    assert headers["Content-Type"].startswith("application/json")
    assert answer["hbp_nrp_backend"] == __version__
    assert answer["hbp_nrp_simserver"] == __version__


# -- launch, list, state changes ----------------------------------------------------------------


async def test_launch_lists_the_simulation_and_runs_it_in_a_kernel_until_it_stops(nrp, jp_fetch, jp_base_url):
    assert (await nrp.call("GET", "simulation"))[:2] == (200, [])

    code, launched, headers = await nrp.launch("tf_exchange", state="created", private=True)
    assert code == 201, launched
    assert set(launched) == NRP_JSON_KEYS
    simulation_id = launched["simulationID"]
    assert launched["state"] == "paused"
    assert launched["experimentID"] == "tf_exchange"
    assert launched["experimentConfiguration"] == "simulation_config.json"
    assert launched["mainScript"] == "main_script.py"
    assert launched["ctxId"] is None
    assert launched["MQTTPrefix"] == ""
    assert headers["Location"] == f"{jp_base_url}nrp/simulation/{simulation_id}"

    code, listed, _ = await nrp.call("GET", "simulation")
    assert (code, listed) == (200, [launched])
    assert (await nrp.call("GET", "simulation", str(simulation_id)))[:2] == (200, launched)
    assert (await nrp.call("GET", "simulation", str(simulation_id), "state"))[:2] == (200, {"state": "paused"})
    assert len(await kernel_ids(jp_fetch)) == 1

    assert (await nrp.put_state(simulation_id, "stopped"))[:2] == (200, {"state": "stopped"})
    assert await kernel_ids(jp_fetch) == []
    code, listed, _ = await nrp.call("GET", "simulation")
    assert [(record["simulationID"], record["state"]) for record in listed] == [(simulation_id, "stopped")]


async def test_a_stopped_simulation_leaves_no_kernel_restarter_running(nrp, jp_fetch, jp_serverapp):
    code, launched, _ = await nrp.launch("tf_exchange")
    assert code == 201, launched
    (kernel_id,) = await kernel_ids(jp_fetch)
    kernel = jp_serverapp.kernel_manager.get_kernel(kernel_id)
    try:
        assert (await nrp.put_state(launched["simulationID"], "stopped"))[0] == 200
        assert await kernel_ids(jp_fetch) == []
        restarter = kernel._restarter
        assert restarter is None or restarter._pcallback is None, "the kernel restarter still polls"
    finally:
        if kernel._restarter is not None:
            kernel._restarter.stop()  # else it restarts the kernel during the rest of the run


async def test_state_requests_get_nrp_answers_while_running_and_once_finalized(nrp):
    code, launched, _ = await nrp.launch("slow_exchange")
    assert code == 201, launched
    simulation_id = launched["simulationID"]

    async def put(body):
        code, answer, _ = await nrp.call("PUT", "simulation", str(simulation_id), "state", body=body)
        return code, answer

    assert await put({}) == (400, {"message": "state not given.", "type": "Client error", "data": None})
    assert await put({"state": None}) == (400, {"message": "state not given.", "type": "Client error", "data": None})
    for state in ("foobar", "initialized", "halted"):
        assert await put({"state": state}) == (400, {"message": f"Invalid state requested: ({state})",
                                                     "type": "State Transition error", "data": None})
    for state in ("completed", "created"):
        assert await put({"state": state}) == (400, {
            "message": f"The state transition is invalid ('paused' -> '{state}')",
            "type": "State Transition error", "data": None})
    assert await put({"state": "paused"}) == (200, {"state": "paused"})
    assert await put({"state": "started"}) == (200, {"state": "started"})
    assert await put({"state": "started"}) == (200, {"state": "started"})
    assert await put({"state": "created"}) == (400, {
        "message": "The state transition is invalid ('started' -> 'created')",
        "type": "State Transition error", "data": None})
    assert await put({"state": "paused"}) == (200, {"state": "paused"})
    assert await put({"state": "paused"}) == (200, {"state": "paused"})
    assert await nrp.state(simulation_id) == "paused"

    assert await put({"state": "stopped"}) == (200, {"state": "stopped"})
    for state in ("stopped", "started", "paused", "failed", "foobar"):
        assert await put({"state": state}) == (400, {"message": FINALIZED, "type": "State Transition error",
                                                     "data": None}), state
    assert await nrp.state(simulation_id) == "stopped"


async def test_completed_is_accepted_from_started(nrp, subscriber):
    code, launched, _ = await nrp.launch("slow_exchange")
    simulation_id = launched["simulationID"]
    assert (await nrp.put_state(simulation_id, "started"))[:2] == (200, {"state": "started"})
    assert (await nrp.put_state(simulation_id, "completed"))[:2] == (200, {"state": "completed"})
    assert (await nrp.put_state(simulation_id, "completed"))[:2] == (200, {"state": "completed"})
    code, answer, _ = await nrp.put_state(simulation_id, "started")
    assert (code, answer["message"]) == (400, "The state transition is invalid ('completed' -> 'started')")
    await wait_message(subscriber, f"nrp_simulation/{simulation_id}/status", lambda m: m.get("state") == "completed")
    assert (await nrp.put_state(simulation_id, "stopped"))[:2] == (200, {"state": "stopped"})


@pytest.mark.parametrize("nrp_config", [{"max_simulations": 1}])
async def test_one_simulation_at_a_time_when_limited_to_one(nrp, nrp_config):
    code, first, _ = await nrp.launch("tf_exchange")
    assert code == 201, first

    code, answer, _ = await nrp.launch("status_function", state="created", private=True)
    assert (code, answer) == (409, {"message": "Another simulation is already running on the server",
                                    "type": "Client error", "data": None})
    # The body is checked before the limit.
    code, answer, _ = await nrp.call("POST", "simulation", body={"private": True})
    assert (code, answer["message"]) == (400, "experimentID not given.")
    assert [record["simulationID"] for record in (await nrp.call("GET", "simulation"))[1]] == [first["simulationID"]]

    assert (await nrp.put_state(first["simulationID"], "stopped"))[:2] == (200, {"state": "stopped"})
    code, second, _ = await nrp.launch("status_function", state="created", private=True)
    assert code == 201, second
    assert second["simulationID"] > first["simulationID"]
    assert second["state"] == "paused"


async def test_delete_removes_only_ended_simulations_and_ids_are_never_reused(nrp, jp_fetch):
    code, first, _ = await nrp.launch("tf_exchange")
    first_id = first["simulationID"]
    code, answer, _ = await nrp.call("DELETE", "simulation", str(first_id))
    assert code == 409
    assert answer["type"] == "Client error"
    assert "'paused'" in answer["message"]
    assert (await nrp.call("GET", "simulation", str(first_id)))[0] == 200

    assert (await nrp.put_state(first_id, "stopped"))[0] == 200
    code, answer, _ = await nrp.call("DELETE", "simulation", str(first_id))
    assert (code, answer) == (204, None)
    assert (await nrp.call("GET", "simulation", str(first_id)))[:2] == (404, NOT_FOUND)
    assert (await nrp.call("GET", "simulation"))[1] == []
    assert (await nrp.call("DELETE", "simulation", str(first_id)))[:2] == (404, NOT_FOUND)

    code, second, _ = await nrp.launch("tf_exchange")
    assert code == 201
    assert second["simulationID"] > first_id
    assert (await nrp.put_state(second["simulationID"], "stopped"))[0] == 200


async def test_logs_are_the_live_files_while_running_and_the_archive_after_stop(nrp, experiments_root):
    code, launched, _ = await nrp.launch("slow_exchange")
    simulation_id = launched["simulationID"]
    assert (await nrp.put_state(simulation_id, "started"))[0] == 200
    logs = {f"main_script_{simulation_id}.log", f"nrpcore_{simulation_id}.log"}

    code, live, _ = await nrp.call("GET", "simulation", str(simulation_id), "logs")
    assert code == 200
    assert live["simulationID"] == simulation_id
    assert logs <= {entry["name"] for entry in live["files"]}
    assert all(set(entry) == {"name", "content"} for entry in live["files"])
    assert not list(experiments_root.joinpath("slow_exchange").glob("*.log.zip"))

    assert (await nrp.put_state(simulation_id, "stopped"))[0] == 200
    code, archived, _ = await nrp.call("GET", "simulation", str(simulation_id), "logs")
    assert code == 200
    assert logs <= {entry["name"] for entry in archived["files"]}
    assert len(list(experiments_root.joinpath("slow_exchange").glob(f"*_simulation_{simulation_id}.log.zip"))) == 1
    assert (await nrp.call("GET", "simulation", str(simulation_id), "logs"))[1] == archived


# -- the OpenAPI document ------------------------------------------------------------------------


def openapi_path(pattern: str) -> str:
    """A handler's URL pattern as an OpenAPI path relative to <base_url>nrp: each named group
    (`simulation_id`, `engine`, ...) becomes its parameter (`{simulation_id}`)."""
    return re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", pattern.removeprefix("/nrp"))


def served_routes(websocket: bool) -> dict[str, set[str]]:
    from tornado import web
    from tornado.websocket import WebSocketHandler

    routes = {}
    for pattern, handler in handlers():
        if issubclass(handler, WebSocketHandler) != websocket:
            continue
        verbs = {verb.lower() for verb in ("GET", "POST", "PUT", "DELETE", "PATCH")
                 if getattr(handler, verb.lower()) is not web.RequestHandler._unimplemented_method}
        routes[openapi_path(pattern)] = verbs
    return routes


async def test_openapi_document_covers_every_http_route(nrp, jp_base_url):
    code, document, headers = await nrp.call("GET", "openapi.json")
    assert code == 200
    assert headers["Content-Type"].startswith("application/json")
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    assert {"Simulation", "Error"} <= set(document["components"]["schemas"])
    # Resolved against the document's own URL, the server URL is the API's root under any base_url.
    document_url = f"http://server{jp_base_url}nrp/openapi.json"
    assert urllib.parse.urljoin(document_url, document["servers"][0]["url"]) == f"http://server{jp_base_url}nrp"
    for path, operations in document["paths"].items():
        assert path.startswith("/"), path
        for verb, operation in operations.items():
            assert verb == "parameters" or operation["responses"], (path, verb)
    for path, verbs in served_routes(websocket=False).items():
        assert path in document["paths"], path
        assert verbs <= set(document["paths"][path]), (path, verbs)


async def test_openapi_document_is_valid(nrp):
    from openapi_spec_validator import validate

    validate((await nrp.call("GET", "openapi.json"))[1])


async def test_openapi_document_covers_the_events_websocket(nrp):
    document = (await nrp.call("GET", "openapi.json"))[1]
    for path in served_routes(websocket=True):
        assert path in document["paths"], path
