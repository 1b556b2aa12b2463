"""Fixtures of the control panel tests: a local frame server and experiments for the shared live
server (`recorded_comms`, which the scale tests use too, is in tests/conftest.py)."""

import threading

import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.notebook.panel.frame_server import FrameServer


def panel_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name.startswith("nrp-panel-")]


@pytest.fixture
def frame_server():
    servers = []

    def make(**kwargs) -> FrameServer:
        servers.append(FrameServer(**kwargs).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def panels():
    """Makes panels and closes whatever the test left open, so no updater thread outlives it."""
    from nrp_jupyter.notebook.panel import ControlPanel

    made = []

    def make(simulation, **kwargs):
        made.append(ControlPanel(simulation, **kwargs))
        return made[-1]

    yield make
    for panel in made:
        panel.close()


@pytest.fixture
def connections():
    """Makes client connections and closes them after the test (a kept-alive socket left to the
    garbage collector is a ResourceWarning, an error here)."""
    from nrp_jupyter.notebook.client import Connection

    made = []

    def make(url: str, token: str | None) -> Connection:
        made.append(Connection(url, token))
        return made[-1]

    yield make
    for connection in made:
        connection.close()


@pytest.fixture
def simulation_of(connections):
    """The `Simulation` a frame server stands in for (`simulation_id` overrides the server's)."""
    from nrp_jupyter.notebook.client import Simulation

    def make(server: FrameServer, token: str = "t", simulation_id: int | None = None) -> Simulation:
        return Simulation(connections(server.url, token), simulation_id or server.simulation_id)

    return make


@pytest.fixture
def launched(live_server_quiet, panel_experiments, connections):
    """Launches an experiment of the live server; returns its `Simulation` (paused)."""
    from nrp_jupyter.notebook.client import Simulation

    def launch(experiment: str) -> Simulation:
        code, record = live_server_quiet.call("POST", "simulation", body={"experimentID": experiment})
        assert code == 201, record
        return Simulation(connections(live_server_quiet.url, live_server_quiet.token), record["simulationID"])

    return launch


@pytest.fixture(scope="session")
def panel_experiments(live_server):
    """Experiments of the panel tests in the live server's storage: `panel_slow` (a long
    tf_exchange) and `panel_raises` (its main script raises after a few steps)."""
    storage = live_server.root / "experiments"
    slow = storage / "panel_slow"
    if not slow.exists():
        copy_experiment_folder(EXPERIMENTS / "tf_exchange", slow)
        config = (slow / "simulation_config.json").read_text().replace('"SimulationTimeout": 1,',
                                                                         '"SimulationTimeout": 600,')
        (slow / "simulation_config.json").write_text(config)
        # Slow enough that simulation time advances visibly while a test watches it.
        (slow / "main_script.py").write_text(
            "import time\n"
            "while True:\n"
            "    nrp.run_loop(1)\n"
            "    time.sleep(0.02)\n")
    raises = storage / "panel_raises"
    if not raises.exists():
        copy_experiment_folder(EXPERIMENTS / "tf_exchange", raises)
        (raises / "main_script.py").write_text(
            "for _ in range(3):\n"
            "    nrp.run_loop(1)\n"
            "raise ValueError('the panel shows this')\n")
    return storage
