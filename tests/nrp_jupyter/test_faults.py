"""Stop in every state, and processes dying under a running simulation: the simulation reaches the
documented state within 2 s and nothing is left behind (kernel, process, port, directory). How long
a stop takes is measured by benchmarks/control_latency.py."""

import json
import signal
import time

import psutil
import pytest

from tests.nrp_jupyter.conftest import experiment_variant, wait_message
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(120)

HANGING_ENGINE = """
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": 0, "timestep": 0})

    def runLoop(self, timestep_ns):
        if self._time_ns >= 50_000_000:
            time.sleep(3600)
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})
"""


@pytest.fixture
def hanging_experiment(experiments_root):
    return experiment_variant(experiments_root, "hanging", engine_1_py=HANGING_ENGINE)


def service(jp_serverapp):
    return jp_serverapp.web_app.settings["nrp_simulations"]


def server_mqtt(jp_serverapp):
    """The server's MQTT publisher."""
    return jp_serverapp.extension_manager.extension_points["nrp_jupyter"].app._mqtt


def simulation_processes(jp_serverapp, simulation_id):
    """The kernel, NRPCoreSim and the engines of a simulation, and the ports they listen on."""
    nrpcoresim = psutil.Process(service(jp_serverapp).get(simulation_id).nrpcoresim_pid)
    processes = [nrpcoresim.parent(), nrpcoresim, *nrpcoresim.children(recursive=True)]
    ports = {c.laddr.port for p in processes for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
    return processes, ports


async def assert_all_gone(nrp, jp_fetch, processes, ports, simulations_dir, within_s=2.0):
    def gone():
        return not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes)

    await eventually_async(gone, within_s, lambda: [p.cmdline()[:3] for p in processes if p.is_running()])
    # Fixed default ports (9002, ...) may be taken again at once by tests running beside this one:
    # what matters is that no process of this simulation holds one.
    ours = {p.pid for p in processes}
    held = {c.laddr.port for c in psutil.net_connections("tcp")
            if c.status == psutil.CONN_LISTEN and c.pid in ours}
    assert not held & ports
    kernels = json.loads((await jp_fetch("api", "kernels")).body)
    assert kernels == []
    assert not list(simulations_dir.glob("nrp.*"))


async def engines_run(jp_serverapp, simulation_id):
    # The kernel, NRPCoreSim and both engines of the experiment.
    await eventually_async(lambda: len(simulation_processes(jp_serverapp, simulation_id)[0]) >= 4, 10,
                           "NRPCoreSim and both engines run")


async def launched(nrp, experiment="slow_exchange", start=True):
    code, body, _ = await nrp.launch(experiment)
    assert code == 201, body
    if start:
        assert (await nrp.put_state(body["simulationID"], "started"))[0] == 200
    return body["simulationID"]


@pytest.mark.parametrize("from_state", ["started", "paused"])
async def test_stop_returns_and_leaves_nothing(from_state, nrp, jp_fetch, jp_serverapp, tmp_path):
    simulation_id = await launched(nrp, start=from_state == "started")
    await engines_run(jp_serverapp, simulation_id)
    processes, ports = simulation_processes(jp_serverapp, simulation_id)

    code, body, _ = await nrp.put_state(simulation_id, "stopped")

    assert (code, body) == (200, {"state": "stopped"})
    await assert_all_gone(nrp, jp_fetch, processes, ports, tmp_path / "simulations", within_s=0.5)


async def test_stop_with_an_engine_hung_in_its_step(nrp, jp_fetch, jp_serverapp, subscriber, tmp_path,
                                                    hanging_experiment):
    simulation_id = await launched(nrp, hanging_experiment)
    # The engine hangs in its step from 50 ms on: simulation time stops at 0.04 s, in one periodic
    # status after another.
    def at_the_hang():
        return [m for m in subscriber.received(f"nrp_simulation/{simulation_id}/status")
                if m.json().get("simulationTime", 0) >= 0.035][1:]

    await eventually_async(at_the_hang, 10, "simulation time did not stop at the hanging step")
    processes, ports = simulation_processes(jp_serverapp, simulation_id)

    code, body, _ = await nrp.put_state(simulation_id, "stopped")

    assert (code, body) == (200, {"state": "stopped"})
    await assert_all_gone(nrp, jp_fetch, processes, ports, tmp_path / "simulations", within_s=0.5)


@pytest.mark.parametrize("victim", ["kernel", "NRPCoreSim", "engine"])
async def test_a_process_killed_mid_run_fails_the_simulation_within_2_s(
        victim, nrp, jp_fetch, jp_serverapp, subscriber, tmp_path):
    simulation_id = await launched(nrp)
    await engines_run(jp_serverapp, simulation_id)
    processes, ports = simulation_processes(jp_serverapp, simulation_id)
    target = {"kernel": processes[0], "NRPCoreSim": processes[1], "engine": processes[2]}[victim]

    target.send_signal(signal.SIGKILL)
    await nrp.wait_state(simulation_id, "failed", timeout=2.0)

    error = await wait_message(subscriber, f"nrp_simulation/{simulation_id}/runtime_error", timeout=1.0)
    assert error["sim_id"] == str(simulation_id) and error["msg"]
    await wait_message(subscriber, f"nrp_simulation/{simulation_id}/status", lambda m: m.get("state") == "failed")
    await assert_all_gone(nrp, jp_fetch, processes, ports, tmp_path / "simulations", within_s=2.0)


async def test_four_simulations_of_one_experiment_run_at_once_to_completion(nrp, jp_fetch):
    ids = [await launched(nrp, "tf_exchange", start=False) for _ in range(4)]
    for simulation_id in ids:
        assert (await nrp.put_state(simulation_id, "started"))[0] == 200
    for simulation_id in ids:
        await nrp.wait_state(simulation_id, "completed", timeout=30)
    for simulation_id in ids:
        assert (await nrp.put_state(simulation_id, "stopped"))[:2] == (200, {"state": "stopped"})
    assert json.loads((await jp_fetch("api", "kernels")).body) == []


async def test_broker_restart_mid_run_loses_no_state(nrp, broker, subscriber, jp_serverapp):
    simulation_id = await launched(nrp)
    broker.kill()
    await eventually_async(lambda: not server_mqtt(jp_serverapp).connected, 5,
                           "the server did not notice the broker go")
    assert (await nrp.put_state(simulation_id, "paused"))[:2] == (200, {"state": "paused"})
    assert await nrp.state(simulation_id) == "paused"

    broker.start()
    resumed_at = time.monotonic()
    status = await wait_message(subscriber, f"nrp_simulation/{simulation_id}/status",
                                lambda m: m.get("state") == "paused", timeout=5.0, after=resumed_at)
    assert status["simulationTime"] > 0
    assert (await nrp.put_state(simulation_id, "stopped"))[:2] == (200, {"state": "stopped"})


async def test_stop_works_with_the_broker_down(nrp, broker, jp_fetch, jp_serverapp, tmp_path):
    simulation_id = await launched(nrp)
    processes, ports = simulation_processes(jp_serverapp, simulation_id)
    broker.kill()
    await eventually_async(lambda: not server_mqtt(jp_serverapp).connected, 5,
                           "the server did not notice the broker go")

    assert (await nrp.put_state(simulation_id, "stopped"))[:2] == (200, {"state": "stopped"})
    await assert_all_gone(nrp, jp_fetch, processes, ports, tmp_path / "simulations", within_s=0.5)
