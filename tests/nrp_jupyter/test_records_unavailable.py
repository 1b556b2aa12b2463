"""Black box: a damaged records database keeps the extension loaded, answering a JSON 503 that names
the file on every route, and is left as it is; new records never reuse an id that archives carry."""

import json

import pytest
from tornado.httpclient import HTTPClientError

pytestmark = pytest.mark.timeout(60)

DAMAGED = b"SQLite format 3\x00" + b"\x13" * 4000


@pytest.fixture
def nrp_config(request, tmp_path, experiments_root):
    """Prepares, before the server starts, what the test's `records` marker asks for."""
    marker = request.node.get_closest_marker("records")
    if marker is not None and marker.args[0] == "damaged":
        (tmp_path / "nrp.sqlite").write_bytes(DAMAGED)
    if marker is not None and marker.args[0] == "lost, with archives":
        (experiments_root / "tf_exchange" / "2026-01-05_10-00-00_simulation_41.log.zip").write_bytes(b"PK")
        (experiments_root / "status_function" / "2026-01-05_10-00-01_simulation_7_data.zip").write_bytes(b"PK")
    return {}


@pytest.mark.records("damaged")
@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", ("simulation",), None), ("POST", ("simulation",), {"experimentID": "tf_exchange"}),
    ("GET", ("simulation", "0"), None), ("PUT", ("simulation", "0", "state"), {"state": "started"}),
    ("GET", ("simulation", "0", "logs"), None), ("GET", ("version",), None),
    ("GET", ("experiments",), None)])
async def test_every_route_answers_503_naming_the_file(nrp, jp_fetch, tmp_path, method, path, body):
    code, answer, _ = await nrp.call(method, *path, body=body)

    assert code == 503
    assert answer["type"] == "General error"
    assert answer["message"].startswith(f"The simulation records in {tmp_path / 'nrp.sqlite'} cannot be used")
    assert "Move it aside (or restore a good copy) and restart the server" in answer["message"]
    assert (tmp_path / "nrp.sqlite").read_bytes() == DAMAGED
    kernels = json.loads((await jp_fetch("api", "kernels")).body)
    assert kernels == []


@pytest.mark.records("damaged")
async def test_the_events_socket_answers_503(jp_fetch):
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("nrp", "events")
    assert refused.value.code == 503


@pytest.mark.records("lost, with archives")
async def test_new_records_start_after_the_highest_archived_id(nrp):
    code, answer, _ = await nrp.launch()
    assert code == 201, answer
    assert answer["simulationID"] == 42
    await nrp.put_state(42, "stopped")
