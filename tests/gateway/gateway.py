"""A real Jupyter Kernel Gateway process on a free loopback port, and the server that uses it.

The gateway inherits the test's environment and forwards the test marker to its kernels (it gives
kernels only PATH, the variables listed in env_process_whitelist and the client's KERNEL_*), so
the processes of its kernels are told apart from other tests' by `no_leftover_processes`.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import urllib.error
import urllib.request

import psutil

from tests.conftest import TEST_MARKER_VARIABLE
from tests.live_server import LiveServer
from tests.ports import free_port
from tests.waiting import eventually


class KernelGateway:
    """`jupyter kernelgateway` in a directory of its own (its kernels' working directory)."""

    def __init__(self, tmp_path: pathlib.Path, auth_token: str = ""):
        self.tmp_path = pathlib.Path(tmp_path)
        self.port = free_port()
        self.auth_token = auth_token
        self.cwd = self.tmp_path / "gateway_cwd"
        self.log_path = self.tmp_path / "gateway.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "kernel_gateway", "--KernelGatewayApp.ip=127.0.0.1",
                   f"--KernelGatewayApp.port={self.port}", "--JupyterWebsocketPersonality.list_kernels=True",
                   f"--KernelGatewayApp.env_process_whitelist={TEST_MARKER_VARIABLE}"]
        if self.auth_token:
            command.append(f"--KernelGatewayApp.auth_token={self.auth_token}")
        return command

    def start(self, timeout: float = 30.0) -> "KernelGateway":
        self.cwd.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, JUPYTER_CONFIG_DIR=str(self.tmp_path / "gateway_config"),
                   JUPYTER_RUNTIME_DIR=str(self.tmp_path / "gateway_runtime"),
                   JUPYTER_DATA_DIR=str(self.tmp_path / "gateway_data"))
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command(), env=env, cwd=self.cwd, stdout=log,
                                            stderr=subprocess.STDOUT)
        try:
            eventually(self._answers, timeout, "the kernel gateway did not answer", every_s=0.1)
        except AssertionError:
            self.stop()
            raise AssertionError(f"the kernel gateway did not start: {self.log()[-3000:]}") from None
        return self

    def _answers(self) -> bool:
        try:
            self.kernels()
            return True
        except (urllib.error.URLError, ConnectionError):
            assert self.process.poll() is None, "the kernel gateway exited"
            return False

    def add_kernel_spec(self, name: str, argv: list[str]) -> None:
        """A kernel spec of the gateway's own (in its Jupyter data directory)."""
        spec_dir = self.tmp_path / "gateway_data" / "kernels" / name
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = {"argv": argv, "display_name": name, "language": "python"}
        (spec_dir / "kernel.json").write_text(json.dumps(spec))

    def kernels(self) -> list[dict]:
        """The gateway's kernels, from its REST API."""
        request = urllib.request.Request(f"{self.url}/api/kernels")
        if self.auth_token:
            request.add_header("Authorization", f"token {self.auth_token}")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def kernel_processes(self) -> list[psutil.Process]:
        """The kernel processes the gateway started (its direct children)."""
        found = []
        for child in psutil.Process(self.process.pid).children():
            try:
                if any("ipykernel" in part for part in child.cmdline()):
                    found.append(child)
            except psutil.NoSuchProcess:
                continue
        return found

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def gateway_server(root: pathlib.Path, tmp_path: pathlib.Path, gateway_url: str, *extra: str) -> LiveServer:
    """A server whose experiment kernels run on the gateway at `gateway_url`; simulation
    directories under `tmp_path/simulations` (shared with the gateway: same machine)."""
    simulations = tmp_path / "simulations"
    simulations.mkdir(exist_ok=True)
    return LiveServer(root, tmp_path, (f"--gateway-url={gateway_url}",
                                       f"--NrpJupyterApp.simulations_dir={simulations}", *extra))
