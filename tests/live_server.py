"""A real `jupyter server` process with the nrp_jupyter extension, for tests whose client blocks.

In-process servers (pytest-jupyter's `jp_serverapp`) share the test's event loop, so a synchronous
client (the notebook client, magics, the control panel, `jupyter nrp run`) would deadlock against
them. `LiveServer` runs the server in a subprocess with its own Jupyter dirs, token and embedded
broker; the `live_server` fixture in tests/conftest.py shares one per test session.
"""

import json
import os
import pathlib
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from tests.experiment_folders import copy_experiment_folder
from tests.ports import free_port
from tests.waiting import eventually

TOKEN = "nrp-test-token"


class LiveServer:
    """`root` is the server's root_dir; experiments live in `root/experiments/<id>`."""

    def __init__(self, root: pathlib.Path, tmp_path: pathlib.Path, extra_args: tuple[str, ...] = ()):
        self.root = pathlib.Path(root)
        self.port = free_port()
        self.broker_port = free_port()
        self.tmp_path = pathlib.Path(tmp_path)
        self.extra_args = tuple(extra_args)
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def token(self) -> str:
        return TOKEN

    @property
    def log_path(self) -> pathlib.Path:
        return self.tmp_path / "server.log"

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("NRP_MQTT")}
        # ipykernel leaves its subprocesses' output uncaptured under pytest; the server's kernels
        # must behave as outside the tests, where NRPCoreSim's output reaches the simulation's log.
        env.pop("PYTEST_CURRENT_TEST", None)
        # Engines started by hand that never answer fail a launch after 5 s rather than nrp-core's 20.
        env.setdefault("NRP_ENGINE_CONNECT_TIMEOUT", "5")
        env.update(JUPYTER_CONFIG_DIR=str(self.tmp_path / "config"), JUPYTER_RUNTIME_DIR=str(self.tmp_path / "runtime"),
                   JUPYTER_DATA_DIR=str(self.tmp_path / "data"))
        return env

    # The Python module the server runs as (`python -m <module> <arguments>`): by default as `jupyter nrp`
    # starts it, the Jupyter server with nrp_jupyter, which spares each start the 2.5 s of CPU that
    # `jupyter server` spends on a jsonschema format checker nobody uses (engines/import_costs.py).
    module = "nrp_jupyter.cli"
    arguments: tuple[str, ...] = ("serve",)

    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.arguments, f"--ServerApp.port={self.port}",
                "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False",
                "--allow-root",
                f"--ServerApp.root_dir={self.root}", f"--NrpJupyterApp.embedded_broker_port={self.broker_port}",
                f"--NrpJupyterApp.database_path={self.tmp_path / 'nrp.sqlite'}", *self.extra_args]

    def start(self, timeout: float = 30.0) -> "LiveServer":
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(self.command(), env=self.environment(), stdout=subprocess.DEVNULL,
                                            stderr=log)
        try:
            eventually(self._answers, timeout, "the server did not answer in time", every_s=0.1)
        except BaseException:
            # A server that never answered is no test's to close: it would outlive the suite.
            self.process.kill()
            self.process.wait(timeout=10)
            raise
        return self

    def _answers(self) -> bool:
        try:
            self.call("GET", "version")
            return True
        except (urllib.error.URLError, ConnectionError):
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            return False

    def call(self, method: str, *path: str, body=None):
        """`(status, parsed body)` of a request to `<url>nrp/<path>`."""
        request = urllib.request.Request(f"{self.url}nrp/{'/'.join(path)}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def wait_state(self, simulation_id, wanted: str, timeout: float = 20.0) -> None:
        def state() -> str:
            return self.call("GET", "simulation", str(simulation_id), "state")[1]["state"]

        eventually(lambda: state() == wanted, timeout, lambda: f"simulation {simulation_id} is {state()}, not {wanted}",
                   every_s=0.05)

    def stop_all_simulations(self) -> None:
        """Stops whatever still runs, so that tests sharing the server start from a quiet one."""
        code, records = self.call("GET", "simulation")
        for record in records if code == 200 else []:
            # A completed simulation still holds a launch slot until it is stopped, as in NRP.
            if record.get("state") in ("created", "paused", "started", "completed"):
                self.call("PUT", "simulation", str(record["simulationID"]), "state", body={"state": "stopped"})

    def stop(self, how=signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(how)
            self.process.wait(timeout=30)

    def close(self) -> None:
        """The end of a test's server: its simulations stopped, then the server; killed if it does
        not exit within stop()'s wait."""
        try:
            if self.process and self.process.poll() is None:
                self.stop_all_simulations()
            self.stop()
        finally:
            if self.process and self.process.poll() is None:
                self.process.kill()
                self.process.wait(timeout=10)


def experiments_root(root: pathlib.Path, experiments: pathlib.Path, names=None) -> pathlib.Path:
    """Copies the experiments `names` (all by default) into `root/experiments`; returns `root`."""
    target = root / "experiments"
    target.mkdir(parents=True, exist_ok=True)
    for source in sorted(experiments.iterdir()):
        if source.is_dir() and (names is None or source.name in names):
            copy_experiment_folder(source, target / source.name, dirs_exist_ok=True)
    return root
