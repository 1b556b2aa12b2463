"""A proxy that cannot be reached: bearer requests are 503 naming the proxy, while NRP's open reads
and Jupyter's own token keep working."""

import pytest

from tests.nrp_deployment.conftest import ALICE, TOKENS, NrpModeServer, launch
from tests.ports import free_port

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def server_without_proxy(tmp_path_factory):
    root = tmp_path_factory.mktemp("no-proxy-root")
    (root / "experiments").mkdir()
    # A port nothing listens on: every request to the proxy is refused at once.
    proxy_url = f"http://127.0.0.1:{free_port()}/storage"
    server = NrpModeServer(root, tmp_path_factory.mktemp("no-proxy-server"), proxy_url).start()
    server.proxy_url = proxy_url
    yield server
    server.close()


def test_a_bearer_request_is_a_503_naming_the_proxy(server_without_proxy):
    for status, body, _ in (launch(server_without_proxy, "tf_exchange_0", TOKENS[ALICE]),
                            server_without_proxy.fetch("GET", "simulation/0", bearer=TOKENS[ALICE])):
        assert status == 503, body
        assert body["message"].startswith(f"The NRP proxy at {server_without_proxy.proxy_url} cannot be reached: "
                                          f"GET /identity/me: ")
        assert body["type"] == "General error"


def test_open_reads_and_jupyters_token_do_not_need_the_proxy(server_without_proxy):
    assert server_without_proxy.fetch("GET", "simulation", bearer="false")[0] == 200
    assert server_without_proxy.fetch("GET", "version")[0] == 200
    assert server_without_proxy.fetch("GET", "openapi.json", jupyter_token=True)[0] == 200
