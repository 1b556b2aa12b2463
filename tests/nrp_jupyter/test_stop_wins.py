"""Black box: a stop overtakes a launch at any step, an engine hung in its initialize included; it
answers (benchmarks/server_timings.py measures how soon), the launch answers 409, and nothing of
the simulation is left. A launch that times out says which step did not end, and which engine."""

import asyncio
import json

import pytest

from nrp_jupyter.server.process_sweep import processes_of
from tests.nrp_jupyter.conftest import experiment_variant
from tests.waiting import eventually_async

pytestmark = pytest.mark.timeout(90)

HUNG_IN_INITIALIZE = """
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        time.sleep(3600)

    def runLoop(self, timestep_ns):
        pass
"""


@pytest.fixture
def hung_experiment(experiments_root):
    return experiment_variant(experiments_root, "hung_in_initialize", engine_1_py=HUNG_IN_INITIALIZE)


def service(jp_serverapp):
    return jp_serverapp.web_app.settings["nrp_simulations"]


def engine_processes(record) -> list:
    return [process for process in processes_of(record.simulation_dir)
            if any("nrp-python-json-engine" in part for part in process.cmdline())]


async def assert_nothing_left(jp_fetch, record, tmp_path):
    await eventually_async(lambda: not processes_of(record.simulation_dir), 2.0,
                           "the simulation's processes end")
    assert json.loads((await jp_fetch("api", "kernels")).body) == []
    assert not list((tmp_path / "simulations").glob("nrp.*"))


async def test_stop_during_a_hung_engine_initialize_answers_without_waiting_for_it(nrp, jp_fetch, jp_serverapp, tmp_path,
                                                                        hung_experiment, experiments_root):
    launch = asyncio.ensure_future(nrp.launch(hung_experiment))
    await eventually_async(lambda: service(jp_serverapp).list(), 10, "the launch records the simulation")
    record = service(jp_serverapp).list()[0]
    await eventually_async(lambda: record.simulation_dir and len(engine_processes(record)) == 2, 30,
                           "NRPCoreSim starts both engines")

    # The engine's initialize never ends: a stop that answers did not wait for it.
    code, answer, _ = await nrp.put_state(record.simulation_id, "stopped")

    assert (code, answer) == (200, {"state": "stopped"})
    code, answer, _ = await launch
    assert code == 409, answer
    assert answer["message"] == (f"The simulation {record.simulation_id} was stopped while it was being "
                                 f"launched (initializing nrp-core)")
    assert await nrp.state(record.simulation_id) == "stopped"
    await assert_nothing_left(jp_fetch, record, tmp_path)
    assert list((experiments_root / hung_experiment).glob(f"*_simulation_{record.simulation_id}.log.zip"))


async def test_stop_while_the_kernel_starts(nrp, jp_fetch, jp_serverapp, tmp_path):
    launch = asyncio.ensure_future(nrp.launch("tf_exchange"))
    await eventually_async(lambda: service(jp_serverapp).list(), 10, "the launch records the simulation")
    record = service(jp_serverapp).list()[0]

    code, answer, _ = await nrp.put_state(record.simulation_id, "stopped")

    assert (code, answer) == (200, {"state": "stopped"})
    code, answer, _ = await launch
    assert code == 409, answer
    assert "was stopped while it was being launched" in answer["message"]
    await assert_nothing_left(jp_fetch, record, tmp_path)


@pytest.mark.parametrize("nrp_config", [{"launch_timeout": 4}])
async def test_a_launch_that_times_out_names_the_step(nrp, jp_fetch, jp_serverapp, tmp_path, hung_experiment):
    code, answer, _ = await nrp.launch(hung_experiment)

    assert code == 500, answer
    assert ("Initializing nrp-core did not end within the launch timeout (4 s): engine 'python_1' did not "
            "finish its initialize") in answer["message"]
    assert "python_2" not in answer["message"]
    [record] = service(jp_serverapp).list()
    assert record.state.value == "failed"
    await assert_nothing_left(jp_fetch, record, tmp_path)
