"""What nrp-core's own server suite (nrp_simulation/tests/server.py) needs of NRPCoreSim, checked
with both clients, ours and PyPI nrp-client 1.4.0, and without nrp-core's checkout: experiments
are written here, addresses are free ports.

- A client dropped before initialize (nrp-client's `__del__` sends shutdown, which is refused in
  Created, and no signal) leaves the address to the next client's own server.
- Datapacks not yet delivered reach their engines before the engines reset; one addressed to an
  engine the simulation lacks is dropped.
- Protobuf RawData observations of a status function come back in order.
- An address NRPCoreSim cannot listen on makes the constructor fail.
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.interop import scenarios
from tests.interop.server_request_experiment import write_experiment

DRIVER = pathlib.Path(__file__).with_name("real_client_driver.py")

pytestmark = pytest.mark.timeout(90)

def run(client: str, real_python: str | None, scenario: str, server, experiment: str) -> dict:
    target = scenarios.Target(server.address, experiment)
    if client == "ours":
        from engines.nrpcore_client import NrpCore

        result = scenarios.run(scenario, NrpCore, target, server_alive=lambda nrp: nrp._process.exit_code() is None,
                               release=lambda nrp: nrp.close())
    else:
        env = dict(os.environ)
        # nrp-client execs NRPCoreSim by name: ours, from this interpreter's environment.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        done = subprocess.run([real_python, str(DRIVER), scenario, target.address, target.experiment_folder,
                               target.config_file], cwd=server.folder, env=env, capture_output=True, text=True,
                              timeout=80)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            raise AssertionError(f"real client driver failed ({done.returncode}):\n"
                                 f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")
        result = json.loads(lines[-1].removeprefix("RESULT "))
    assert "aborted" not in result, f"{client} client: scenario aborted: {result}"
    return result


@pytest.fixture(params=["ours", pytest.param("real", marks=pytest.mark.real_client)])
def client(request):
    if request.param == "real":
        return "real", request.getfixturevalue("real_client_python")
    return "ours", None


def steps(result: dict) -> dict[str, dict]:
    return {step["call"]: step for step in result["steps"]}


def ok(step: dict, state: str):
    assert "error" not in step, f"{step['call']} raised {step['error']}: {step['message']}"
    assert step["state"] == state, step
    return step["value"]


def by_engine(trajectory: list) -> dict:
    return {item["engine"]: item for item in trajectory}


def test_a_client_dropped_before_initialize_leaves_the_address_to_the_next_server(client, nrp_server, tmp_path):
    experiment = nrp_server.experiment("status_function")
    step = steps(run(*client, "handover_after_refused_shutdown", nrp_server, experiment))
    refused = step["first_shutdown"]
    assert (refused.get("error"), refused.get("message")) == ("ConnectionError", "Can't process request")
    ok(step["construct_second"], "Created")
    ok(step["initialize"], "Initialized")
    done, timed_out, trajectory = ok(step["run_until_timeout"], "Stopped")
    # The second server's own SimulationTimeout (0.1 s at 10 ms steps), not the first one's (0.05 s):
    # each step observes {"count": c} and python_2's Int32Value.
    assert (done, timed_out) == (False, True)
    assert [item["count"] for item in trajectory[0::2]] == list(range(10))
    ok(step["shutdown"], "Created")


def test_datapacks_not_yet_delivered_reach_the_engines_before_they_reset(client, nrp_server):
    experiment = write_experiment(nrp_server.folder / "reset_probe")
    step = steps(run(*client, "datapacks_before_reset", nrp_server, experiment))
    initial = by_engine(ok(step["initialize"], "Initialized"))
    assert initial == {"one": {"engine": "one", "reset_saw": None}, "two": {"engine": "two", "reset_saw": None}}
    ok(step["run_loop_two_not_synced"], "Stopped")
    reset = by_engine(ok(step["reset"], "Initialized"))
    # "two" had not synced since its datapack came; "one"'s came with the reset; "test" is no engine.
    assert reset["one"]["reset_saw"] == {"test_reset": 987}
    assert reset["two"]["reset_saw"] == {"waiting": True}
    assert ok(step["run_loop_after_reset"], "Stopped") == [False, []]
    ok(step["shutdown"], "Created")


def test_status_function_protobuf_raw_data_come_back_in_order(client, nrp_server):
    experiment = write_experiment(nrp_server.folder / "raw_data", raw_data_status=True)
    step = steps(run(*client, "raw_data_trajectory", nrp_server, experiment))
    done, timed_out, trajectory = ok(step["run_until_timeout"], "Stopped")
    assert (done, timed_out) == (True, False)
    expected = []
    for i in range(3):
        expected += [{"i": i}, {"proto": "EngineTest.TestPayload", "fields": {"integer": i, "str": ""}},
                     {"proto": "Dump.String", "fields": {"string_stream": f"step {i}"}}]
    assert trajectory == expected


def test_an_address_nrpcoresim_cannot_listen_on_fails_the_constructor(client, nrp_server):
    experiment = write_experiment(nrp_server.folder / "address")
    construct = steps(run(*client, "unusable_address", nrp_server, experiment))["construct"]
    if client[0] == "real":
        assert (construct["error"], construct["message"]) == ("TimeoutError", "Timeout while connecting to NRP Server.")
    else:
        assert construct["error"] == "ChildProcessError", construct
        assert "cannot listen on garbage_address" in construct["message"]
