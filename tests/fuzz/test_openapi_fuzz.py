"""schemathesis over the OpenAPI document the server serves (`<base_url>nrp/openapi.json`).

Every HTTP operation of the document, with the token and without it, with data that fits the
schema (positive) and data that does not (negative), against a real server subprocess serving
tf_exchange with at most two active simulations. No answer may be a 5xx, and every status code,
header and body must be one the document declares.

A launch takes about 1.5 s, so the examples per operation are few by default; set
NRP_JUPYTER_FUZZ_EXAMPLES for a longer run (docs/security.md).
"""

import json
import os
import pathlib

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_headers_conformance,
                                 response_schema_conformance, status_code_conformance)

from tests.conftest import EXPERIMENTS, TEST_MARKER_VARIABLE, assert_no_core_processes
from tests.live_server import LiveServer, experiments_root

EXAMPLES = int(os.environ.get("NRP_JUPYTER_FUZZ_EXAMPLES", "8"))
OPENAPI_FILE = pathlib.Path(__file__).resolve().parents[2] / "nrp_jupyter" / "server" / "openapi.json"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# The WebSocket cannot be fuzzed over plain HTTP; tests/security covers its upgrade.
WEBSOCKET_PATHS = {"/events"}


def http_operations() -> list[str]:
    """Labels (`GET /simulation`) of the document's HTTP operations, read from the file the server
    serves, so that a route added to it is fuzzed without a change here."""
    document = json.loads(OPENAPI_FILE.read_text())
    return [f"{method.upper()} {path}" for path, item in document["paths"].items() if path not in WEBSOCKET_PATHS
            for method in item if method != "parameters"]


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """A server of its own (tf_exchange only, two active simulations at most), and its served
    schema. Processes it starts carry a marker, so that leftovers are found at the end."""
    import uuid

    tmp_path = tmp_path_factory.mktemp("fuzz_server")
    marker = uuid.uuid4().hex
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(TEST_MARKER_VARIABLE, marker)
        server = LiveServer(experiments_root(tmp_path / "root", EXPERIMENTS, {"tf_exchange"}), tmp_path,
                            ("--NrpJupyterApp.max_simulations=2",)).start()
    try:
        # One simulation exists from the start, so that small ids reach a real record.
        code, launched = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
        assert code == 201, launched
        code, document = server.call("GET", "openapi.json")
        assert code == 200, document
        yield server, document

    finally:
        server.close()
        assert_no_core_processes(marker, within_s=10.0)


@pytest.mark.timeout(120)  # the module's server starts with the first test that asks for it
def test_the_served_document_is_the_file_with_the_server_s_base_url(fuzz_server):
    _, document = fuzz_server
    assert document.pop("servers") == [{"url": "/nrp"}]
    expected = json.loads(OPENAPI_FILE.read_text())
    expected.pop("servers")
    assert document == expected


@pytest.mark.timeout(240)
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda mode: mode.value)
@pytest.mark.parametrize("with_token", [True, False], ids=["token", "no-token"])
@pytest.mark.parametrize("label", http_operations())
def test_every_answer_is_declared_and_none_is_a_server_error(fuzz_server, label, with_token, mode):
    server, document = fuzz_server
    operation = schemathesis.openapi.from_dict(document).find_operation_by_label(label)
    headers = {"Authorization": f"token {server.token}"} if with_token else {}

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=f"{server.url}nrp", headers=headers, timeout=90)
        if not with_token:
            assert response.status_code == 403, (case.method, case.formatted_path, response.text[:300])
        case.validate_response(response, checks=CHECKS)

    run()
