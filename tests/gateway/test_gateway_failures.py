"""What goes wrong around a kernel gateway: unreachable, a token it refuses, and one it accepts
(the kernel's websocket carries the token too: spec jupyter.md 2.3 item 4)."""

import re
import sys

import pytest

from tests.gateway.gateway import KernelGateway, gateway_server
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("no_leftover_processes")]

GATEWAY_TOKEN = "gateway-secret-7f3a"


def launch_fails_naming_the_gateway(server, gateway_url: str) -> str:
    code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 500, body
    assert body["type"] == "General error"
    assert f"kernel gateway at {gateway_url}" in body["message"], body["message"]
    code, records = server.call("GET", "simulation")
    assert [record["state"] for record in records] == ["failed"]
    assert list((server.tmp_path / "simulations").iterdir()) == [], "the simulation directory was left"
    return body["message"]


def test_an_unreachable_gateway_fails_the_launch_with_a_500_naming_it(root, tmp_path):
    gateway_url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    server = gateway_server(root, tmp_path, gateway_url).start()
    try:
        message = launch_fails_naming_the_gateway(server, gateway_url)
        # The refused connection itself, at once: a request that timed out would be HTTP 599.
        assert "HTTP 503" in message
    finally:
        server.stop()


def test_a_gateway_with_a_token_runs_kernels_for_a_server_that_has_it_and_refuses_others(root, tmp_path):
    gateway = KernelGateway(tmp_path / "gateway", auth_token=GATEWAY_TOKEN).start()
    servers = []
    try:
        (tmp_path / "wrong").mkdir()
        wrong = gateway_server(root, tmp_path / "wrong", gateway.url,
                               "--GatewayClient.auth_token=not-the-token")
        servers.append(wrong.start())
        assert "HTTP 401" in launch_fails_naming_the_gateway(wrong, gateway.url)

        (tmp_path / "right").mkdir()
        right = gateway_server(root, tmp_path / "right", gateway.url,
                               f"--GatewayClient.auth_token={GATEWAY_TOKEN}")
        servers.append(right.start())
        code, body = right.call("POST", "simulation", body={"experimentID": "tf_exchange"})
        assert code == 201, body
        sid = str(body["simulationID"])
        assert right.call("PUT", "simulation", sid, "state", body={"state": "started"})[0] == 200
        right.wait_state(sid, "completed", timeout=30)
        assert right.call("PUT", "simulation", sid, "state", body={"state": "stopped"})[0] == 200
        assert gateway.kernels() == []
        # The kernel's websocket was accepted: tornado logs each request as "<status> GET <path> ...".
        assert re.search(r"\b101 GET /api/kernels/\S+/channels", gateway.log())
        assert not re.search(r"\b40[13] GET /api/kernels/\S+/channels", gateway.log())
    finally:
        for server in servers:
            server.stop()
        gateway.stop()


# A kernel whose Python lacks nrp-jupyter: the gateway's interpreter with kernel_ext made unimportable.
WITHOUT_NRP_JUPYTER = [sys.executable, "-c", "import sys; sys.modules['kernel_ext'] = None; "
                       "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()",
                       "-f", "{connection_file}"]


def test_a_gateway_kernel_without_nrp_jupyter_fails_the_launch_saying_so(root, tmp_path):
    gateway = KernelGateway(tmp_path / "gateway")
    gateway.add_kernel_spec("no_nrp", WITHOUT_NRP_JUPYTER)
    gateway.start()
    server = gateway_server(root, tmp_path, gateway.url, "--NrpJupyterApp.kernel_name=no_nrp").start()
    try:
        code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
        assert code == 500, body
        assert ("nrp-jupyter is not installed in the Python environment of kernel spec 'no_nrp' "
                "on the kernel gateway") in body["message"]
        assert [record["state"] for record in server.call("GET", "simulation")[1]] == ["failed"]
        assert gateway.kernels() == []
    finally:
        server.stop()
        gateway.stop()
