"""The simulator experiments launched, run and stopped through the REST API of a real Jupyter server
(tests/live_server.py), each in its own experiment kernel: what their engines print, the `Result:`
line their main script logs at the timeout, and the datapacks their datatransfer engine streams to
the server's /events WebSocket (through the server's own broker)."""

import json
import re
import shutil
from collections.abc import Callable

import pytest

from nrp_jupyter.notebook.client import Connection
from tests.engines.servers.simulators.test_experiments import CARTPOLE_SUMMARY, PENDULUM_SUMMARY
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(180)

RESULT = re.compile(r"\] Result: (\{.*\})$", re.MULTILINE)
# 10 s of 20 ms steps. The status function last runs at the start of the last step, after 499.
CARTPOLE_STEPS = 500
CARTPOLE_STREAM = ("cart_position", "pole_angle", "steps_up")


def logged_text(server, simulation_id) -> str:
    status, logs = server.call("GET", "simulation", str(simulation_id), "logs")
    assert status == 200
    return "\n".join(log_file["content"] for log_file in logs["files"])


def result_in(logs: str) -> dict:
    """The object of the one `Result: {...}` line the main script logs."""
    results = RESULT.findall(logs)
    assert len(results) == 1, f"expected one Result line in the logs, got {results}"
    return json.loads(results[0])


class Run:
    """A simulation run to completion through REST: its logs, and the datapacks streamed meanwhile
    (`data[name]`: the /events payloads of `data/<name>`, in order)."""

    def __init__(self, logs: str, data: dict[str, list[dict]]):
        self.logs = logs
        self.data = data

    def values(self, datapack: str, series: str = "value") -> list[float]:
        return [sample["values"][series] for payload in self.data.get(datapack, [])
                for sample in payload["samples"] if series in sample["values"]]

    def images(self, datapack: str) -> list[dict]:
        return [payload["image"] for payload in self.data.get(datapack, []) if "image" in payload]


def run_through_rest(server, experiment, configuration="simulation_config.json", streamed=()) -> Run:
    """Launches, starts, waits for completion (and for a payload of each datapack in `streamed`),
    stops; the run's logs and the datapacks that reached /events."""
    status, record = server.call("POST", "simulation", body={"experimentID": experiment,
                                                              "experimentConfiguration": configuration})
    assert status == 201, record
    simulation_id = record["simulationID"]
    assert record["state"] == "paused"

    data: dict[str, list[dict]] = {}
    stop_announced: list[dict] = []

    def reading_until(condition: Callable[[], bool]) -> Callable[[], bool]:
        """A poll for `eventually`: true once `condition()` holds, else takes the next message."""

        def poll() -> bool:
            if condition():
                return True
            message = stream.next(timeout=0.2)
            if message is None:
                return False
            if message["topic"].startswith("data/"):
                data.setdefault(message["topic"].removeprefix("data/"), []).append(message["payload"])
            elif message["topic"] == "status" and message["payload"].get("state") == "stopped":
                stop_announced.append(message)
            return condition()

        return poll

    with Connection(server.url, server.token).events(simulation_id) as stream:
        started = server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "started"})
        assert started[0] == 200
        server.wait_state(simulation_id, "completed", timeout=90)
        eventually(reading_until(lambda: set(streamed) <= set(data)), 20,
                   lambda: f"datapacks {sorted(set(streamed) - set(data))} on /events", every_s=0)
        stopped = server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "stopped"})
        assert stopped[0] == 200
        # The server batches datapacks every 100 ms, and its broker may deliver the last ones after
        # the kernel reported completion: those still come before the status of the stop, which
        # takes far longer than a batch.
        eventually(reading_until(lambda: bool(stop_announced)), 30, "the stop's status on /events",
                   every_s=0)
    server.wait_state(simulation_id, "stopped", timeout=30)
    return Run(logged_text(server, simulation_id), data)


def test_cartpole_runs_to_its_timeout_through_rest_with_the_pole_up_all_along(live_server_quiet):
    run = run_through_rest(live_server_quiet, "cartpole", streamed=CARTPOLE_STREAM)
    longest, _, falls, _, time_s = CARTPOLE_SUMMARY.search(run.logs).groups()

    assert (int(longest), int(falls), float(time_s)) == (CARTPOLE_STEPS, 0, 10.0)
    assert result_in(run.logs) == {"longest_steps": CARTPOLE_STEPS - 1, "falls": 0, "episodes": 0}
    # What reached the panel: the pole never leaves the 12 degrees of CartPole-v1, the cart stays on
    # its track, and the steps up only grow (one episode).
    positions, angles, steps_up = (run.values(datapack) for datapack in CARTPOLE_STREAM)
    assert angles and positions and steps_up
    assert max(abs(angle) for angle in angles) < 0.21 and max(abs(x) for x in positions) < 2.4
    assert steps_up == sorted(steps_up) and steps_up[-1] <= CARTPOLE_STEPS
    assert run.data["pole_angle"][0]["type"] == "Wrappers.DoubleValue"


def test_random_cartpole_through_rest_drops_the_pole(live_server_quiet):
    run = run_through_rest(live_server_quiet, "cartpole", "simulation_config_random.json",
                           streamed=CARTPOLE_STREAM)
    longest, falls, episodes = (int(value) for value in CARTPOLE_SUMMARY.search(run.logs).group(1, 3, 4))

    assert falls >= 5 and longest < CARTPOLE_STEPS
    # The result is the balance one step before the engine's summary: a fall may end that step.
    result = result_in(run.logs)
    assert result["longest_steps"] <= longest and result["falls"] in (falls - 1, falls)
    assert result["episodes"] in (episodes - 1, episodes) and result["falls"] >= 5
    # Each fall starts a new episode: the streamed steps up fall back to 0.
    steps_up = run.values("steps_up")
    assert any(later < earlier for earlier, later in zip(steps_up, steps_up[1:]))


def test_the_pendulum_reaches_its_target_through_rest(live_server_quiet):
    run = run_through_rest(live_server_quiet, "bullet_pendulum", streamed=("angle", "target", "torque"))
    angle, target, velocity, *_ = map(float, PENDULUM_SUMMARY.search(run.logs).groups())

    assert angle == pytest.approx(target, abs=0.005) and abs(velocity) < 0.005
    result = result_in(run.logs)
    assert set(result) == {"angle", "target", "velocity"}
    assert result["target"] == target and abs(result["angle"] - result["target"]) < 0.005
    assert result["angle"] == pytest.approx(angle, abs=1e-3) and abs(result["velocity"]) < 0.01
    assert set(run.values("target")) == {target}
    assert max(run.values("angle")) < target * 1.05 and run.values("torque")


def test_nest_simple_logs_the_last_voltage_and_the_rates_through_rest(live_server_quiet):
    run = run_through_rest(live_server_quiet, "nest_simple", streamed=("membrane_voltage", "generator_rates"))

    result = result_in(run.logs)
    assert set(result) == {"voltage_mV", "rates"}
    # The transceiver function sets the rates to |1000 sin n| and |1000 cos n|: on the unit circle
    # once scaled, whatever n the run ended at. Left alone the neuron would rest at -70 mV.
    excitatory, inhibitory = result["rates"]
    assert (excitatory / 1000) ** 2 + (inhibitory / 1000) ** 2 == pytest.approx(1.0)
    assert -90 < result["voltage_mV"] < -50 and result["voltage_mV"] != -70.0
    voltages = run.values("membrane_voltage")
    assert voltages and all(-90 < volts < -50 for volts in voltages) and len(set(voltages)) > 1
    streamed_rates = zip(run.values("generator_rates", "array[0]"), run.values("generator_rates", "array[1]"))
    # The generators start silent; from the transceiver function's first step on they are set.
    set_rates = [(e, i) for e, i in streamed_rates if (e, i) != (0, 0)]
    assert set_rates and all((e / 1000) ** 2 + (i / 1000) ** 2 == pytest.approx(1.0) for e, i in set_rates)
    assert run.data["generator_rates"][0]["type"] == "NrpGenericProto.ArrayDouble"


def test_a_missing_world_file_fails_the_launch_naming_it(live_server_quiet):
    server = live_server_quiet
    experiment = server.root / "experiments" / "bullet_pendulum_broken"
    shutil.copytree(server.root / "experiments" / "bullet_pendulum", experiment, dirs_exist_ok=True)
    (experiment / "pendulum.urdf").unlink()
    status, body = server.call("POST", "simulation", body={"experimentID": "bullet_pendulum_broken"})

    # The launch answers once the engine has refused to initialize: a fault of the experiment's files,
    # whose message names engine, script and file.
    assert status == 400, body
    assert ('Engine "pendulum": initialize failed (script pendulum_engine.py): WorldFileError: '
            'WorldFileName "pendulum.urdf": file not found') in body["message"]
    records = live_server_quiet.call("GET", "simulation")[1]
    assert [r["state"] for r in records if r["experimentID"] == "bullet_pendulum_broken"] == ["failed"]


def test_a_run_too_short_for_a_report_fails_naming_it(live_server_quiet):
    # One step: the report request reaches the engine at its first sync, the status function would
    # answer at the second, which never comes. The script says so instead of logging no result.
    server = live_server_quiet
    experiment = server.root / "experiments" / "bullet_pendulum_one_step"
    shutil.copytree(server.root / "experiments" / "bullet_pendulum", experiment, dirs_exist_ok=True)
    config = json.loads((experiment / "simulation_config.json").read_text())
    (experiment / "simulation_config.json").write_text(json.dumps({**config, "SimulationTimeout": 0.01}))
    status, record = server.call("POST", "simulation", body={"experimentID": "bullet_pendulum_one_step"})
    assert status == 201, record
    simulation_id = str(record["simulationID"])

    with Connection(server.url, server.token).events(int(simulation_id)) as stream:
        assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})[0] == 200
        server.wait_state(simulation_id, "completed", timeout=60)
        errors: list[dict] = []

        def a_runtime_error_read() -> list[dict]:
            message = stream.next(timeout=0.5)
            if message is not None and message["topic"] == "runtime_error":
                errors.append(message["payload"])
            return errors

        eventually(a_runtime_error_read, 10, "a runtime_error for a run without a report", every_s=0)
    assert errors, "no runtime_error for a run without a report"
    assert "the status function reported no joint state before the timeout" in errors[0]["msg"]
    assert errors[0]["fileName"].endswith("main_script.py")
    assert "Result:" not in logged_text(server, simulation_id)


PRINTING_TF = """\
from nrp_core import *


@EngineDataPack(keyword="joint", id=DataPackIdentifier("joint", "pendulum"))
@TransceiverFunction("pendulum")
def printing(joint):
    print(f"printed by a transceiver function at t={joint.data['time_s']:.2f}")
    return []
"""


def test_what_a_transceiver_function_prints_is_in_the_logs_while_the_simulation_runs(live_server_quiet):
    # NRPCoreSim prints into its experiment kernel's output, which the server keeps as the
    # simulation's log (simulation_<id>.log); outside the test harness this holds.
    server = live_server_quiet
    experiment = server.root / "experiments" / "bullet_pendulum_printing"
    shutil.copytree(server.root / "experiments" / "bullet_pendulum", experiment, dirs_exist_ok=True)
    (experiment / "printing_tf.py").write_text(PRINTING_TF)
    config = json.loads((experiment / "simulation_config.json").read_text())
    config["DataPackProcessingFunctions"].append({"Name": "printing", "FileName": "printing_tf.py"})
    (experiment / "simulation_config.json").write_text(json.dumps(config))
    status, record = server.call("POST", "simulation", body={"experimentID": "bullet_pendulum_printing"})
    assert status == 201, record
    simulation_id = str(record["simulationID"])
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})[0] == 200
    server.wait_state(simulation_id, "completed", timeout=90)

    # Completed, not stopped: NRPCoreSim still runs, and 300 lines have been printed.
    def printed() -> int:
        return logged_text(server, simulation_id).count("printed by a transceiver function")

    last_line = "printed by a transceiver function at t=2.99"
    eventually(lambda: last_line in logged_text(server, simulation_id), 10,
               lambda: f"{printed()} of the function's 300 lines are in the logs", every_s=0.5)
