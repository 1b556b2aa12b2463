"""NRPCoreSim driven by both clients: ours (engines.nrpcore_client, in process) and PyPI nrp-client 1.4.0.

Each scenario of scenarios.py runs once per client and must give the same observable results:
return shapes, states, trajectories, and the errors of illegal requests. The one expected
difference is documented where it is asserted (a refused shutdown).
"""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests.interop import scenarios

DRIVER = pathlib.Path(__file__).with_name("real_client_driver.py")
INT32 = "Wrappers.Int32Value"

pytestmark = pytest.mark.timeout(60)


class Client:
    """Runs a scenario with one of the two clients; returns its results as scenarios.run does."""

    def __init__(self, kind: str, python: str | None = None):
        self.kind = kind
        self.python = python

    def run(self, name: str, server, experiment: str, config: str = "simulation_config.json") -> dict:
        target = scenarios.Target(server.address, server.experiment(experiment), config)
        result = self._run_ours(name, target) if self.kind == "ours" else self._run_real(name, target, server)
        assert "aborted" not in result, f"{self.kind} client: scenario aborted: {result}"
        return result

    @staticmethod
    def _run_ours(name, target):
        from engines.nrpcore_client import NrpCore

        return scenarios.run(name, NrpCore, target, server_alive=lambda nrp: nrp._process.exit_code() is None,
                             release=lambda nrp: nrp.close())

    def _run_real(self, name, target, server):
        env = dict(os.environ)
        # nrp-client execs NRPCoreSim by name: ours, from this interpreter's environment.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        command = [self.python, str(DRIVER), name, target.address, target.experiment_folder, target.config_file]
        done = subprocess.run(command, cwd=server.folder, env=env, capture_output=True, text=True, timeout=50)
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        if done.returncode != 0 or not lines:
            raise AssertionError(f"real client driver failed ({done.returncode}):\n"
                                 f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}")
        return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.fixture(params=["ours", pytest.param("real", marks=pytest.mark.real_client)])
def client(request) -> Client:
    if request.param == "real":
        return Client("real", request.getfixturevalue("real_client_python"))
    return Client("ours")


def steps(result: dict) -> dict[str, dict]:
    return {step["call"]: step for step in result["steps"]}


def ok(step: dict, state: str):
    assert "error" not in step, f"{step['call']} raised {step['error']}: {step['message']}"
    assert step["state"] == state, step
    return step["value"]


def refused(step: dict, state: str) -> None:
    assert (step.get("error"), step.get("message")) == ("ConnectionError", "Can't process request"), step
    assert step["state"] == state, step


def is_int32(element) -> bool:
    return isinstance(element, dict) and element.get("proto") == INT32


def assert_status_observations(trajectory: list) -> tuple[list[int], list[int]]:
    """[{"count": c}, Int32Value(steps), ...] in that order; returns the counts and the step values."""
    assert trajectory and len(trajectory) % 2 == 0, trajectory
    counts, values = trajectory[0::2], trajectory[1::2]
    assert all(isinstance(c, dict) and set(c) == {"count"} for c in counts), trajectory
    assert all(is_int32(v) for v in values), trajectory
    return [c["count"] for c in counts], [v["fields"]["value"] for v in values]


@pytest.mark.parametrize("config", ["simulation_config.json", "simulation_config_grpc.json"])
def test_lifecycle(client, nrp_server, config):
    result = client.run("lifecycle", nrp_server, "tf_exchange", config)
    step = steps(result)
    assert ok(step["construct"], "Created") is not None
    # The initial trajectory holds the datapacks the functions request: tf_1's `datapack1`.
    [initial] = ok(step["initialize"], "Initialized")
    assert ok(step["run_loop"], "Stopped") == [False, []]
    assert ok(step["run_until_timeout"], "Stopped") == [False, True, []]
    assert ok(step["reset"], "Initialized") == [initial]
    assert ok(step["run_loop_after_reset"], "Stopped") == [False, []]
    assert ok(step["stop"], "Stopped") is None
    assert ok(step["shutdown"], "Created") is None
    assert result["server_alive_at_end"] is False


def test_illegal_requests(client, nrp_server):
    step = steps(client.run("illegal_requests", nrp_server, "tf_exchange"))
    refused(step["run_loop_before_initialize"], "Created")
    refused(step["run_until_timeout_before_initialize"], "Created")
    refused(step["reset_before_initialize"], "Created")
    ok(step["initialize"], "Initialized")
    refused(step["second_initialize"], "Initialized")
    ok(step["shutdown"], "Created")


def test_shutdown_in_created(client, nrp_server):
    result = client.run("shutdown_in_created", nrp_server, "tf_exchange")
    refused(steps(result)["shutdown"], "Created")
    # Ours ends NRPCoreSim whatever the request's outcome. nrp-client signals it only after a
    # successful request; NRPCoreSim then exits by itself, as nrp-core's does, a moment later
    # (test_nrpcore_server_conformance.py checks the next server gets the address).
    if client.kind == "ours":
        assert result["server_alive_at_end"] is False


def test_requests_after_shutdown(client, nrp_server):
    step = steps(client.run("requests_after_shutdown", nrp_server, "tf_exchange"))
    ok(step["shutdown"], "Created")
    after = step["initialize_after_shutdown"], step["shutdown_after_shutdown"]
    if client.kind == "real":
        # nrp-client marks itself closed only in __del__; until then it calls the dead server.
        expected = ("ConnectionError", "NRP Server is unavailable")
    else:
        expected = ("ChildProcessError",
                    "This NRP Server is closed. Please delete this object and create a new one")
    assert [(s.get("error"), s.get("message")) for s in after] == [expected, expected]


def test_server_dies_at_start(client, nrp_server):
    step = steps(client.run("server_dies_at_start", nrp_server, "tf_exchange"))
    construct = step["construct"]
    if client.kind == "real":
        # nrp-client takes a child that died for a server still starting: it reports no error,
        # and the first request finds nobody listening.
        assert construct["state"] == "Created"
        assert (step["initialize"]["error"], step["initialize"]["message"]) == (
            "ConnectionError", "NRP Server is unavailable")
    else:
        assert construct["error"] == "ChildProcessError", construct
        assert "exited with code 2" in construct["message"]
        assert "no_such_config.json" in construct["message"], construct["message"]


def test_datapacks_and_done(client, nrp_server):
    step = steps(client.run("datapacks_and_done", nrp_server, "status_function"))
    initial = ok(step["initialize"], "Initialized")
    # What the status function requests, before any step: python_1's counter, python_2's steps.
    assert initial == [{"count": 0, "time": 0, "done_at": 0}, {"proto": INT32, "fields": {"value": 0}}]
    assert ok(step["run_loop_not_done"], "Stopped") == [False, []]
    done, trajectory = ok(step["run_loop_done"], "Stopped")
    assert done is True
    # Loop dt 0.01 s; python_2 (dt 0.02) is synced every other step, so its value repeats in between.
    # Steps t=0.03, 0.04, 0.05; done at count 5, that step included.
    assert assert_status_observations(trajectory) == ([3, 4, 5], [1, 2, 2])
    # The proto datapack reached python_2, which added the offset, by the next step.
    done, trajectory = ok(step["run_loop_after_done"], "Stopped")
    assert done is True
    assert assert_status_observations(trajectory) == ([6], [103])
    ok(step["shutdown"], "Created")


def test_status_function_until_timeout(client, nrp_server):
    step = steps(client.run("status_until_timeout", nrp_server, "status_function"))
    ok(step["initialize"], "Initialized")
    done, timed_out, trajectory = ok(step["run_until_timeout"], "Stopped")
    assert (done, timed_out) == (False, True)
    counts, values = assert_status_observations(trajectory)
    # SimulationTimeout 2 s at the loop's dt of 0.01 s: 200 steps from t=0, each observed.
    assert counts == list(range(200))
    assert values == [count // 2 for count in counts]
    ok(step["shutdown"], "Created")


def test_reset_with_datapacks(client, nrp_server):
    step = steps(client.run("reset_with_datapacks", nrp_server, "status_function"))
    assert ok(step["run_loop"], "Stopped") == [False, []]
    assert ok(step["reset"], "Initialized") == ok(step["initialize"], "Initialized")
    done, trajectory = ok(step["run_loop_after_reset"], "Stopped")
    assert done is True
    # Counting restarted at the reset, and done_at=2 went with the reset request.
    assert assert_status_observations(trajectory) == ([0, 1, 2], [0, 0, 1])
    ok(step["shutdown"], "Created")


def test_async_run_and_stop(client, nrp_server):
    step = steps(client.run("async_run_and_stop", nrp_server, "tf_exchange"))
    assert step["run_loop_async"]["value"] == "Thread"
    # stopLoop answers at once, from the running loop; the loop then ends between two steps.
    ok(step["stop"], "Running")
    joined = step["joined"]
    assert joined["value"] is True and joined["responses"] == 1, joined
    assert ok(step["unpack_thread_results"], "Stopped") == [False, []]
    ok(step["shutdown"], "Created")
