"""The reads NRP's backend serves to anyone (GET /simulation, the proxy's poll; GET /version) answer
without credentials in NRP mode, and in NRP mode only; everything else stays closed."""

import urllib.error
import urllib.request

import pytest

from tests.live_server import LiveServer
from tests.nrp_deployment.conftest import ALICE, TOKENS, launch

pytestmark = pytest.mark.timeout(120)

OPEN = [("GET", "simulation"), ("GET", "version")]
CLOSED = [("POST", "simulation"), ("GET", "simulation/0"), ("GET", "simulation/0/state"),
          ("PUT", "simulation/0/state"), ("DELETE", "simulation/0"), ("GET", "simulation/0/logs"),
          ("GET", "simulation/0/details"), ("GET", "openapi.json"), ("GET", "no/such/route")]


def test_nrps_open_reads_answer_anyone_in_nrp_mode(nrp_server, stand_in):
    status, simulation, _ = launch(nrp_server, "tf_exchange_0", TOKENS[ALICE])
    assert status == 201, simulation
    asked = len(stand_in.asked("GET", "/identity/me"))
    # The proxy's poll, with its own authentication off, sends `Bearer false`; a browser sends nothing.
    for headers in ({}, {"Authorization": "Bearer false"}, {"Authorization": "Bearer no-token"}):
        status, listed, _ = nrp_server.fetch("GET", "simulation", headers=headers)
        assert status == 200 and simulation["simulationID"] in [item["simulationID"] for item in listed]
        status, versions, _ = nrp_server.fetch("GET", "version", headers=headers)
        assert status == 200 and "hbp_nrp_backend" in versions
    assert len(stand_in.asked("GET", "/identity/me")) == asked  # open reads never ask the proxy
    assert nrp_server.stop_as(simulation["simulationID"], TOKENS[ALICE])[0] == 200


@pytest.mark.parametrize("method,path", CLOSED)
def test_every_other_route_still_needs_credentials_in_nrp_mode(nrp_server, method, path):
    body = {"state": "stopped"} if method in ("POST", "PUT") else None
    status, answer, _ = nrp_server.fetch(method, path, body=body)
    assert status == 403, (method, path, answer)


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain-root")
    (root / "experiments").mkdir()
    server = LiveServer(root, tmp_path_factory.mktemp("plain-server")).start()
    yield server
    server.close()


@pytest.mark.parametrize("method,path", OPEN)
def test_the_open_reads_are_closed_outside_nrp_mode(plain_server, method, path):
    request_headers = ({}, {"Authorization": "Bearer false"}, {"Authorization": f"Bearer {TOKENS[ALICE]}"})
    for headers in request_headers:
        request = urllib.request.Request(f"{plain_server.url}nrp/{path}", method=method, headers=headers)
        with pytest.raises(urllib.error.HTTPError) as refusal:
            urllib.request.urlopen(request, timeout=30)
        with refusal.value:
            assert refusal.value.code == 403
