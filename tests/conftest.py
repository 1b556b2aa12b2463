"""Fixtures shared by every test package."""

import json
import os
import pathlib
import shutil
import sys
import uuid

import psutil
import pytest

from nrp_jupyter.notebook.client import Connection
from tests.experiment_folders import RUN_ARTEFACTS, copy_experiment_folder  # noqa: F401 (for the tests)
from tests.nrp_jupyter.mqtt_helpers import Mosquitto, Subscriber, mosquitto_executable
from tests.waiting import eventually, eventually_async

# jp_fetch, jp_serverapp, jp_server_config, ...: a real Jupyter server in the test process.
pytest_plugins = ["pytest_jupyter.jupyter_server"]

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPERIMENTS = REPO / "experiments"
BIN_DIR = pathlib.Path(sys.executable).parent

# Command-line words that identify processes of the simulation core.
CORE_PROCESS_MARKERS = ("NRPCoreSim", "nrp-python-json-engine", "nrp-python-grpc-engine", "nrp-py-sim-engine",
                         "nrp-nest-json-engine", "nrp-datatransfer-engine", "engines.servers")
# Set in the environment of a test; every process the test starts inherits it, which tells the
# test's own processes from those of tests running at the same time elsewhere.
TEST_MARKER_VARIABLE = "NRP_JUPYTER_TEST_MARKER"


def core_processes(marker: str) -> list[psutil.Process]:
    """Live simulation-core processes (NRPCoreSim, engines) whose environment carries `marker`."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        info = process.info
        if not info["cmdline"] or info["status"] == psutil.STATUS_ZOMBIE or process.pid == os.getpid():
            continue
        if not any(word in part for part in info["cmdline"] for word in CORE_PROCESS_MARKERS):
            continue
        try:
            if process.environ().get(TEST_MARKER_VARIABLE) == marker:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def assert_no_core_processes(marker: str, within_s: float = 3.0) -> None:
    try:
        eventually(lambda: not core_processes(marker), within_s, "the test's core processes end")
    except AssertionError:
        left = core_processes(marker)
        if not left:  # ended between the last poll and this look
            return
        names = [" ".join(p.info["cmdline"][:4]) for p in left]
        for process in left:
            process.kill()
        raise AssertionError(f"processes left running: {names}") from None


@pytest.fixture
def no_leftover_processes(monkeypatch):
    """Fails the test if an NRPCoreSim or engine process it started is still alive at its end."""
    marker = uuid.uuid4().hex
    monkeypatch.setenv(TEST_MARKER_VARIABLE, marker)
    yield marker
    assert_no_core_processes(marker)


@pytest.fixture
def core_env(no_leftover_processes):
    """Environment for running NRPCoreSim as a subprocess, with this interpreter's scripts first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{BIN_DIR}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """One real `jupyter server` process with the extension for the whole session, serving a copy of
    experiments/ on its embedded broker (tests/live_server.py). Tests that use it leave nothing
    running: each test's simulations are stopped at its end by `live_server_quiet`."""
    from tests.live_server import LiveServer, experiments_root

    tmp_path = tmp_path_factory.mktemp("live_server")
    server = LiveServer(experiments_root(tmp_path / "root", EXPERIMENTS), tmp_path).start()
    yield server
    server.close()


@pytest.fixture
def live_server_quiet(live_server):
    """`live_server`, with whatever a test left running stopped after it."""
    yield live_server
    live_server.stop_all_simulations()


@pytest.fixture(scope="session")
def nrp_core_checkout() -> pathlib.Path:
    """An nrp-core checkout for the conformance tests: $NRP_CORE_CHECKOUT, else ../shared/nrp-core
    beside the repository; skips saying which, when there is none."""
    configured = os.environ.get("NRP_CORE_CHECKOUT")
    path = pathlib.Path(configured) if configured else REPO.parent / "shared" / "nrp-core"
    if not (path / "examples").is_dir():
        source = "$NRP_CORE_CHECKOUT" if configured else "the default"
        pytest.skip(f"no nrp-core checkout at {path} ({source}); set NRP_CORE_CHECKOUT to one")
    return path


# The server extension in the test process (tests/nrp_jupyter, tests/security): a real mosquitto,
# the shipped experiments, real experiment kernels.

SLOW_ENGINE = """
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": 0})

    def runLoop(self, timestep_ns):
        time.sleep(0.004)
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})
"""


@pytest.fixture
def experiments_root(jp_root_dir):
    """The server's storage folder: copies of the shipped experiments, and `slow_exchange`,
    tf_exchange with a 5 ms step and a 10 s timeout, which runs for a few seconds."""
    root = jp_root_dir / "experiments"
    root.mkdir()
    for name in ("tf_exchange", "status_function"):
        copy_experiment_folder(EXPERIMENTS / name, root / name)
    slow = root / "slow_exchange"
    shutil.copytree(root / "tf_exchange", slow)
    (slow / "engine_1.py").write_text(SLOW_ENGINE)
    config = json.loads((slow / "simulation_config.json").read_text())
    config["SimulationTimeout"] = 10
    (slow / "simulation_config.json").write_text(json.dumps(config))
    return root


@pytest.fixture
def broker(tmp_path):
    broker = Mosquitto(mosquitto_executable(), tmp_path / "mosquitto.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def nrp_config():
    """Traits of NrpJupyterApp for a test; override in a test module to change them."""
    return {}


@pytest.fixture
def jp_server_config(experiments_root, broker, tmp_path, nrp_config, no_leftover_processes):
    return {"ServerApp": {"jpserver_extensions": {"nrp_jupyter": True}},
            "NrpJupyterApp": {"mqtt_broker": broker.address, "database_path": str(tmp_path / "nrp.sqlite"),
                              "simulations_dir": str(tmp_path / "simulations"), **nrp_config}}


@pytest.fixture
def subscriber(broker):
    with Subscriber(broker.address, ["nrp_simulation/#"]) as sub:
        sub.wait_subscribed()
        yield sub


@pytest.fixture
def nrp(jp_fetch, jp_serverapp, jp_asyncio_loop):
    """Calls to the extension's REST API; errors come back as responses, not exceptions. At its
    end every simulation is stopped, before the leftover-process check looks."""

    class Api:
        async def call(self, method, *path, body=None):
            from tornado.httpclient import HTTPClientError

            try:
                response = await jp_fetch("nrp", *path, method=method,
                                          body=None if body is None else json.dumps(body),
                                          allow_nonstandard_methods=True)
            except HTTPClientError as error:
                response = error.response
            text = response.body.decode() if response.body else ""
            return response.code, (json.loads(text) if text else None), response.headers

        async def launch(self, experiment="tf_exchange", **extra):
            return await self.call("POST", "simulation", body={"experimentID": experiment, **extra})

        async def put_state(self, simulation_id, state):
            return await self.call("PUT", "simulation", str(simulation_id), "state", body={"state": state})

        async def state(self, simulation_id):
            return (await self.call("GET", "simulation", str(simulation_id), "state"))[1]["state"]

        async def wait_state(self, simulation_id, wanted, timeout=20.0):
            seen = []

            async def reached():
                seen.append(await self.state(simulation_id))
                return seen[-1] == wanted

            await eventually_async(reached, timeout, lambda: f"state {wanted!r} (last seen {seen[-1]!r})")

    yield Api()
    service = jp_serverapp.web_app.settings.get("nrp_simulations")
    if service is not None:  # None when the extension could not open its records
        jp_asyncio_loop.run_until_complete(service.close())


# The session's real server for the synchronous clients (tests/notebook/{client,magics}, tests/cli).

def stop_everything(server) -> None:
    """Stops every simulation that is not final, `completed` ones too (they hold a launch slot)."""
    code, records = server.call("GET", "simulation")
    for record in records if code == 200 else []:
        if record.get("state") not in ("stopped", "failed"):
            server.call("PUT", "simulation", str(record["simulationID"]), "state", body={"state": "stopped"})


@pytest.fixture
def server(live_server):
    """The session's server with the test experiments added; whatever a test leaves running is
    stopped after it."""
    # Imported here: tests.notebook.client.experiments imports this module.
    from tests.notebook.client import experiments

    experiments.add_runs_until_stopped(live_server.root)
    experiments.add_raises(live_server.root)
    experiments.add_with_other_script(live_server.root)
    experiments.add_does_not_compile(live_server.root)
    yield live_server
    stop_everything(live_server)


@pytest.fixture
def connection(server):
    with Connection(server.url, server.token) as connection:
        yield connection


@pytest.fixture
def mosquitto(tmp_path):
    """A running mosquitto on a free port; `restart()` kills it and starts it again on that port."""
    broker = Mosquitto(mosquitto_executable(), tmp_path / "mosquitto.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def recorded_comms(monkeypatch):
    """Every widget created in the test gets a `RecordingComm` (a panel's is `panel.comm`)."""
    import comm

    from tests.notebook.panel.recording_comm import RecordingComm

    made = []

    def create(*args, **kwargs):
        made.append(RecordingComm(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(comm, "create_comm", create)
    return made
