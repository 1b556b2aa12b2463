"""A real Jupyter server with the nrp_jupyter extension, real experiment kernels, a real mosquitto."""

import json
import shutil
import time

import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.nrp_jupyter.mqtt_helpers import Mosquitto, Subscriber, mosquitto_executable


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


def experiment_variant(experiments_root, name: str, **files: str) -> str:
    """A copy of tf_exchange named `name` in the storage, with `files` (name with `.` as `_`, e.g.
    engine_1_py=...) replaced; returns its experiment id."""
    target = experiments_root / name
    copy_experiment_folder(experiments_root / "tf_exchange", target)
    for file_key, text in files.items():
        stem, _, suffix = file_key.rpartition("_")
        (target / f"{stem}.{suffix}").write_text(text)
    return name


@pytest.fixture
def datatransfer_experiment(experiments_root):
    """tf_exchange_datatransfer in the server's storage, without what earlier runs left in it."""
    folder = experiments_root / "tf_exchange_datatransfer"
    copy_experiment_folder(EXPERIMENTS / folder.name, folder, ignore=("*.log*", "*.zip", "data"))
    return folder


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
            import asyncio

            deadline = time.monotonic() + timeout
            while (current := await self.state(simulation_id)) != wanted:
                assert time.monotonic() < deadline, f"state {current!r}, never {wanted!r}"
                await asyncio.sleep(0.05)

    yield Api()
    service = jp_serverapp.web_app.settings.get("nrp_simulations")
    if service is not None:  # None when the extension could not open its records
        jp_asyncio_loop.run_until_complete(service.close())


async def wait_message(subscriber, topic, predicate=None, timeout=5.0, after=0.0):
    """The first message on `topic` received after `after` (time.monotonic()) that satisfies
    `predicate`. Polls without blocking: the server under test shares this event loop."""
    import asyncio

    deadline = time.monotonic() + timeout
    while True:
        for message in subscriber.received(topic):
            if message.at >= after and (predicate is None or predicate(message.json())):
                return message.json()
        if time.monotonic() > deadline:
            seen = [m.payload[:100] for m in subscriber.received(topic)][-5:]
            raise AssertionError(f"no matching message on {topic} within {timeout} s; last: {seen}")
        await asyncio.sleep(0.02)
