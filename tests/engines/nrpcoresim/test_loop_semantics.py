"""The FTI loop's observable semantics (nrp-core 1.4), through a SimulationManager driving real
engine processes: sync points, time steps, PF → TF → SF order, datapack freshness and passing,
timeouts, stop, reset, client datapacks, engine crashes and engines started by the user."""

import json
import subprocess
import sys
import threading

import psutil
import pytest

from engines.nrpcoresim.config import load_simulation_config
from engines.datapacks import JsonDataPack
from engines.errors import EngineError
from engines.nrpcoresim.lifecycle import SimulationState
from engines.nrpcoresim.manager import SimulationManager
from tests.engines.nrpcoresim.loop_experiments import (JOURNAL, MS, entries, grpc_engine, initial_state, json_engine,
                                            probe_engine, write_experiment)
from tests.ports import free_address
from tests.waiting import eventually

pytestmark = [pytest.mark.usefixtures("no_leftover_processes"), pytest.mark.timeout(60)]

STATUS_OF_BOTH = """
@EngineDataPack(keyword="a", id=DataPackIdentifier("state", "a"))
@EngineDataPack(keyword="b", id=DataPackIdentifier("state", "b"))
@SimulationIteration(keyword="i")
@SimulationTime(keyword="t")
@StatusFunction()
def sf(a, b, i, t):
    record("sf", iteration=i, time=t, a=decode(a), b=decode(b), fresh=[a.isUpdated(), b.isUpdated()])
    return False, []
"""


@pytest.fixture(autouse=True)
def journal():
    JOURNAL.clear()
    yield JOURNAL
    JOURNAL.clear()


@pytest.fixture
def simulation(tmp_path):
    """Builds a SimulationManager from a config file; tears every one down at the end."""
    managers = []
    engine_log = open(tmp_path / "engines.log", "w")

    def build(config_path):
        config = load_simulation_config(config_path)
        manager = SimulationManager(config, base_dir=config_path.parent, engine_output=engine_log)
        managers.append(manager)
        return manager

    yield build
    for manager in managers:
        manager.teardown()
    engine_log.close()


def payload(observation) -> dict:
    """A probe's `state` from a trajectory element (a JSON value or a Dump.String)."""
    return observation if isinstance(observation, dict) else json.loads(observation.string_stream)


def inboxes(state: dict) -> list:
    return [step["inbox"] for step in state["log"]]


def test_every_function_runs_in_the_first_iteration_and_sees_the_initial_datapacks(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.01), grpc_engine("b", 0.02)], """
        @EngineDataPack(keyword="state", id=DataPackIdentifier("state", "a"))
        @PreprocessingFunction("a")
        def pf_a(state):
            record("pf_a", iteration=getSimulationIteration(), time=getSimulationTime(), saw=[decode(state)])
            return []

        @EngineDataPack(keyword="other", id=DataPackIdentifier("state", "b"))
        @TransceiverFunction("a")
        def tf_a(other):
            record("tf_a", iteration=getSimulationIteration(), time=getSimulationTime(), saw=[decode(other)])
            return []

        @EngineDataPack(keyword="other", id=DataPackIdentifier("state", "a"))
        @TransceiverFunction("b")
        def tf_b(other):
            record("tf_b", iteration=getSimulationIteration(), time=getSimulationTime(), saw=[decode(other)])
            return []

        @EngineDataPack(keyword="a", id=DataPackIdentifier("state", "a"))
        @EngineDataPack(keyword="b", id=DataPackIdentifier("state", "b"))
        @StatusFunction()
        def sf(a, b):
            record("sf", iteration=getSimulationIteration(), time=getSimulationTime(),
                   saw=[decode(a), decode(b)])
            return False, []
    """, tfs=["pf_a", "tf_a", "tf_b"], status="sf")
    manager = simulation(config)

    trajectory = manager.initialize()
    assert sorted(map(payload, trajectory), key=lambda state: state["engine"]) == [initial_state("a"),
                                                                                 initial_state("b")]
    assert JOURNAL == []

    assert manager.run_loop(1) == (False, [])
    assert sorted(entry["kind"] for entry in JOURNAL) == ["pf_a", "sf", "tf_a", "tf_b"]
    seen = {entry["kind"]: entry for entry in JOURNAL}
    assert all(entry["iteration"] == 0 and entry["time"] == 0 for entry in JOURNAL)
    assert seen["pf_a"]["saw"] == [initial_state("a")] and seen["tf_b"]["saw"] == [initial_state("a")]
    assert seen["tf_a"]["saw"] == [initial_state("b")]
    assert seen["sf"]["saw"] == [initial_state("a"), initial_state("b")]
    assert manager.time_ns == 10 * MS


@pytest.mark.parametrize("slow_protocol", ["json", "grpc"])
def test_loop_step_is_the_smallest_engine_timestep(tmp_path, simulation, slow_protocol):
    # The slow engine comes first: the loop step is the minimum, not the first engine's step.
    engines = [probe_engine(slow_protocol, "b", 0.02), json_engine("a", 0.01)]
    manager = simulation(write_experiment(tmp_path / "exp", engines, STATUS_OF_BOTH, status="sf"))
    manager.initialize()

    assert manager.run_loop(4) == (False, [])
    assert manager.time_ns == 40 * MS
    # One more iteration syncs both engines at 40 ms and shows what their four / two steps were.
    manager.run_loop(1)
    assert [entry["time"] for entry in entries("sf")] == [0, 10 * MS, 20 * MS, 30 * MS, 40 * MS]
    last = entries("sf")[-1]
    assert last["a"]["steps"] == 4
    assert [step["dt"] for step in last["a"]["log"]] == [10 * MS] * 4
    assert [step["time"] for step in last["a"]["log"]] == [10 * MS, 20 * MS, 30 * MS, 40 * MS]
    assert last["b"]["steps"] == 2
    assert [step["dt"] for step in last["b"]["log"]] == [20 * MS, 20 * MS]
    assert [step["time"] for step in last["b"]["log"]] == [20 * MS, 40 * MS]


def test_tfs_run_when_their_engine_is_synced_and_outputs_reach_only_synced_engines(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.01), json_engine("b", 0.02)], """
        @SimulationIteration(keyword="i")
        @TransceiverFunction("a")
        def tf_a(i):
            record("tf_a", iteration=i)
            outputs = [JsonDataPack("inbox", "a", {"from": "tf_a", "iteration": i})]
            if i % 2 == 1:  # b is not synced in odd iterations: this one must be dropped
                outputs.append(JsonDataPack("inbox", "b", {"from": "tf_a", "iteration": i}))
            return outputs

        @SimulationIteration(keyword="i")
        @TransceiverFunction("b")
        def tf_b(i):
            record("tf_b", iteration=i)
            return [JsonDataPack("inbox", "b", {"from": "tf_b", "iteration": i})]
    """, STATUS_OF_BOTH, tfs=["tf_a", "tf_b"], status="sf")
    manager = simulation(config)
    manager.initialize()

    manager.run_loop(5)
    assert [entry["iteration"] for entry in entries("tf_a")] == [0, 1, 2, 3, 4]
    assert [entry["iteration"] for entry in entries("tf_b")] == [0, 2, 4]
    last = entries("sf")[-1]
    assert last["iteration"] == 4
    # Each step received what the TFs produced in the iteration that started it.
    assert inboxes(last["a"]) == [{"from": "tf_a", "iteration": k} for k in range(4)]
    assert inboxes(last["b"]) == [{"from": "tf_b", "iteration": 0}, {"from": "tf_b", "iteration": 2}]


def test_preprocessing_then_transceiver_then_status_function_with_the_iterations_clock(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.01), json_engine("b", 0.02)], """
        @EngineDataPack(keyword="state", id=DataPackIdentifier("state", "a"))
        @PreprocessingFunction("a")
        def pf(state):
            record("pf", iteration=getSimulationIteration(), time=getSimulationTime(),
                   clock=[getSimulationTime(), getSimulationIteration()])
            return [JsonDataPack("summary", "a", {"iteration": getSimulationIteration(),
                                                  "steps": decode(state)["steps"]})]

        @PreprocessedDataPack(keyword="summary", id=DataPackIdentifier("summary", "a"))
        @SimulationTime(keyword="t")
        @SimulationIteration(keyword="i")
        @TransceiverFunction("a")
        def tf_a(summary, t, i):
            record("tf_a", iteration=i, time=t, clock=[getSimulationTime(), getSimulationIteration()],
                   summary=summary.data)
            return []

        @SimulationTime(keyword="t")
        @SimulationIteration(keyword="i")
        @TransceiverFunction("b")
        def tf_b(t, i):
            record("tf_b", iteration=i, time=t, clock=[getSimulationTime(), getSimulationIteration()])
            return []

        @PreprocessedDataPack(keyword="summary", id=DataPackIdentifier("summary", "a"))
        @EngineDataPack(keyword="state", id=DataPackIdentifier("state", "a"))
        @SimulationTime(keyword="t")
        @SimulationIteration(keyword="i")
        @StatusFunction()
        def sf(summary, state, t, i):
            record("sf", iteration=i, time=t, clock=[getSimulationTime(), getSimulationIteration()],
                   summary=summary.data, steps=decode(state)["steps"])
            return False, []
    """, tfs=["pf", "tf_a", "tf_b"], status="sf")
    manager = simulation(config)
    manager.initialize()

    manager.run_loop(4)
    iterations = [entry["iteration"] for entry in JOURNAL]
    assert iterations == sorted(iterations) and set(iterations) == {0, 1, 2, 3}
    expected_tfs = [{"tf_a", "tf_b"}, {"tf_a"}, {"tf_a", "tf_b"}, {"tf_a"}]
    for iteration, transceivers in enumerate(expected_tfs):
        kinds = [entry["kind"] for entry in JOURNAL if entry["iteration"] == iteration]
        assert kinds[0] == "pf" and kinds[-1] == "sf" and set(kinds[1:-1]) == transceivers
        assert len(kinds) == len(transceivers) + 2
    for entry in JOURNAL:
        assert entry["time"] == entry["iteration"] * 10 * MS
        assert entry["clock"] == [entry["time"], entry["iteration"]]
    # The PF output read by the TF and the SF is the one computed in the same iteration.
    for entry in entries("tf_a") + entries("sf"):
        assert entry["summary"] == {"iteration": entry["iteration"], "steps": entry["iteration"]}
    assert [entry["steps"] for entry in entries("sf")] == [0, 1, 2, 3]


def test_is_updated_only_in_iterations_where_the_engine_synced(tmp_path, simulation):
    engines = [json_engine("a", 0.01), json_engine("b", 0.02)]
    manager = simulation(write_experiment(tmp_path / "exp", engines, STATUS_OF_BOTH, status="sf"))
    manager.initialize()

    manager.run_loop(5)
    # Iteration 0 is covered by test_datapacks_fetched_at_t0_are_updated_in_the_first_iteration.
    assert [entry["fresh"] for entry in entries("sf")][1:] == [[True, False], [True, True], [True, False],
                                                                [True, True]]
    # Between its syncs, the slow engine's datapack is the cached one.
    assert [entry["b"]["steps"] for entry in entries("sf")] == [0, 0, 1, 1, 2]
    assert [entry["a"]["steps"] for entry in entries("sf")] == [0, 1, 2, 3, 4]


def test_datapacks_fetched_at_t0_are_updated_in_the_first_iteration(tmp_path, simulation):
    engines = [json_engine("a", 0.01), grpc_engine("b", 0.02)]
    manager = simulation(write_experiment(tmp_path / "exp", engines, STATUS_OF_BOTH, status="sf"))
    manager.initialize()
    manager.run_loop(2)
    manager.reset()
    manager.run_loop(1)
    assert [(entry["iteration"], entry["fresh"]) for entry in entries("sf")] == [
        (0, [True, True]), (1, [True, False]), (0, [True, True])]


def test_engine_datapacks_passes_a_dict_by_name_with_empty_datapacks(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.01)], """
        @EngineDataPacks(keyword="packs", datapackNames=["state", "nothing"], engineName="a")
        @TransceiverFunction("a")
        def tf(packs):
            record("tf", names=sorted(packs),
                   ids={name: [dp.name, dp.engine_name] for name, dp in packs.items()},
                   empty={name: dp.isEmpty() for name, dp in packs.items()},
                   steps=decode(packs["state"])["steps"], nothing=packs["nothing"].data)
            return []
    """, tfs=["tf"])
    manager = simulation(config)
    manager.initialize()

    manager.run_loop(2)
    assert [entry["steps"] for entry in entries("tf")] == [0, 1]
    for entry in entries("tf"):
        assert entry["names"] == ["nothing", "state"]
        assert entry["ids"] == {"state": ["state", "a"], "nothing": ["nothing", "a"]}
        assert entry["empty"] == {"state": False, "nothing": True}
        assert entry["nothing"] is None


@pytest.mark.parametrize("policy", [None, "value", "reference"])
def test_datapack_passing_policy(tmp_path, simulation, policy):
    settings = {} if policy is None else {"DataPackPassingPolicy": policy}
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.01), json_engine("b", 0.02)], """
        @EngineDataPack(keyword="other", id=DataPackIdentifier("state", "b"))
        @SimulationIteration(keyword="i")
        @TransceiverFunction("a")
        def tf(other, i):
            record("tf", iteration=i, datapack=other, marks=list(other.data.get("marks", [])))
            other.data.setdefault("marks", []).append(i)
            return []
    """, tfs=["tf"], **settings)
    manager = simulation(config)
    manager.initialize()

    # b syncs at iterations 0 and 2: iteration 1 reads its cached datapack.
    manager.run_loop(3)
    first, cached, refetched = entries("tf")
    assert first["marks"] == [] and refetched["marks"] == []
    assert refetched["datapack"] is not cached["datapack"]
    if policy == "reference":
        assert cached["datapack"] is first["datapack"]
        assert cached["marks"] == [0]
    else:
        assert cached["datapack"] is not first["datapack"]
        assert cached["marks"] == []


def test_run_loop_ignores_the_timeout_and_run_until_timeout_stops_at_it(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.1)], """
        @SimulationIteration(keyword="i")
        @StatusFunction()
        def sf(i):
            record("sf", iteration=i)
            return False, [JsonRawData({"iteration": i})]
    """, status="sf", SimulationTimeout=1)
    manager = simulation(config)
    manager.initialize()

    assert manager.run_loop(12) == (False, [])
    assert manager.time_ns == 1200 * MS
    assert [entry["iteration"] for entry in entries("sf")] == list(range(12))
    assert manager.state is SimulationState.STOPPED

    manager.reset()
    JOURNAL.clear()
    assert manager.run_until_timeout() == (False, True, [{"iteration": i} for i in range(10)])
    assert manager.time_ns == 1000 * MS
    assert len(entries("sf")) == 10
    # Already at the timeout: nothing more runs.
    assert manager.run_until_timeout() == (False, True, [])
    assert len(entries("sf")) == 10 and manager.time_ns == 1000 * MS


def test_status_function_done_ends_a_run_with_the_trajectory_up_to_the_current_step(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.1)], """
        @SimulationIteration(keyword="i")
        @StatusFunction()
        def sf(i):
            record("sf", iteration=i)
            return i == 3, [JsonRawData({"iteration": i})]
    """, status="sf", SimulationTimeout=1)
    manager = simulation(config)
    manager.initialize()

    assert manager.run_until_timeout() == (True, False, [{"iteration": i} for i in range(4)])
    assert len(entries("sf")) == 4

    manager.reset()
    JOURNAL.clear()
    assert manager.run_loop(10) == (True, [{"iteration": i} for i in range(4)])
    assert len(entries("sf")) == 4
    # Not done after iteration 3: no trajectory.
    assert manager.run_loop(2) == (False, [])
    assert entries("sf")[-1]["iteration"] > 3


def test_run_loop_after_done_runs_all_its_iterations(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.1)], """
        @SimulationIteration(keyword="i")
        @SimulationTime(keyword="t")
        @StatusFunction()
        def sf(i, t):
            record("sf", iteration=i, time=t)
            return i == 3, []
    """, status="sf")
    manager = simulation(config)
    manager.initialize()

    assert manager.run_loop(10) == (True, [])
    manager.run_loop(2)
    assert [(entry["iteration"], entry["time"]) for entry in entries("sf")] == [
        (i, i * 100 * MS) for i in range(6)]
    assert manager.time_ns == 600 * MS


def test_stop_from_another_thread_ends_a_long_run_loop_promptly(tmp_path, simulation):
    config = write_experiment(tmp_path / "exp", [json_engine("a", 0.01)], """
        @SimulationIteration(keyword="i")
        @StatusFunction()
        def sf(i):
            record("sf", iteration=i)
            return False, []
    """, status="sf")
    manager = simulation(config)
    manager.initialize()

    stop_requested = threading.Event()

    def stop_after_some_iterations():
        try:
            eventually(lambda: len(JOURNAL) >= 20, 30, "20 journal entries", every_s=0.005)
        finally:
            stop_requested.set()
            manager.stop()

    stopper = threading.Thread(target=stop_after_some_iterations)
    stopper.start()
    result = manager.run_loop(100_000)
    # The loop returned because of the stop, not at the end of its 100 000 iterations.
    returned_after_the_stop = stop_requested.is_set()
    stopper.join()

    assert result == (False, [])
    assert manager.state is SimulationState.STOPPED
    ran = len(entries("sf"))
    assert 20 <= ran < 1000 and returned_after_the_stop
    assert manager.time_ns == ran * 10 * MS

    assert manager.run_loop(2) == (False, [])
    assert manager.time_ns == (ran + 2) * 10 * MS
    assert [entry["iteration"] for entry in entries("sf")] == list(range(ran + 2))


def test_reset_restarts_time_engines_and_returns_the_initial_datapacks(tmp_path, simulation):
    engines = [json_engine("a", 0.01), grpc_engine("b", 0.02)]
    manager = simulation(write_experiment(tmp_path / "exp", engines, STATUS_OF_BOTH, status="sf"))
    manager.initialize()
    manager.run_loop(3)
    assert entries("sf")[-1]["a"]["steps"] == 2

    trajectory = manager.reset()
    assert manager.state is SimulationState.INITIALIZED and manager.time_ns == 0
    assert sorted(map(payload, trajectory), key=lambda state: state["engine"]) == [
        initial_state("a", resets=1), initial_state("b", resets=1)]

    JOURNAL.clear()
    manager.run_loop(3)
    first, _, third = entries("sf")
    assert (first["iteration"], first["time"]) == (0, 0)
    assert (first["a"], first["b"]) == (initial_state("a", resets=1), initial_state("b", resets=1))
    # The engines' own clocks restarted from 0.
    assert [step["time"] for step in third["a"]["log"]] == [10 * MS, 20 * MS]
    assert [step["time"] for step in third["b"]["log"]] == [20 * MS]


@pytest.mark.parametrize("protocol", ["json", "grpc"])
def test_client_datapacks_reach_their_engine_once_at_its_next_sync(tmp_path, simulation, protocol):
    engines = [json_engine("a", 0.01), probe_engine(protocol, "b", 0.02)]
    manager = simulation(write_experiment(tmp_path / "exp", engines, STATUS_OF_BOTH, status="sf"))
    manager.initialize()
    if protocol == "json":
        datapack, delivered = JsonDataPack("inbox", "b", {"client": 1}), {"client": 1}
    else:
        from nrp_core.data.nrp_protobuf import DumpStringDataPack

        datapack, delivered = DumpStringDataPack("inbox", "b"), "client-1"
        datapack.data.string_stream = "client-1"

    manager.run_loop(1)  # now at 10 ms: b syncs next at 20 ms (iteration 2)
    manager.run_loop(3, datapacks=[datapack])
    manager.run_loop(3)
    last = entries("sf")[-1]
    assert last["iteration"] == 6
    assert inboxes(last["b"]) == [None, delivered, None]
    assert inboxes(last["a"]) == [None] * 6


def test_client_datapack_for_an_unknown_engine_is_dropped_with_a_warning(tmp_path, simulation, caplog):
    # nrp-core keeps such a datapack where no engine ever takes it; its server suite sends one
    # (set_proto_datapack("test", "test", ...)) and expects the run to go on.
    manager = simulation(write_experiment(tmp_path / "exp", [json_engine("a", 0.01), json_engine("b", 0.02)],
                                          STATUS_OF_BOTH, status="sf"))
    manager.initialize()

    assert manager.run_loop(1, datapacks=[JsonDataPack("inbox", "nowhere", {"x": 1})]) == (False, [])
    assert manager.state is SimulationState.STOPPED
    assert [entry["iteration"] for entry in entries("sf")] == [0]
    assert any("'nowhere'" in record.getMessage() and "dropped" in record.getMessage()
               for record in caplog.records if record.levelname == "WARNING")


@pytest.mark.parametrize("protocol", ["json", "grpc"])
def test_engine_crashing_mid_run_fails_the_request_naming_it(tmp_path, simulation, protocol):
    engines = [probe_engine(protocol, "a", 0.01, EngineExtraConfigs={"exit_at_step": 3}),
               json_engine("b", 0.02)]
    manager = simulation(write_experiment(tmp_path / "exp", engines, STATUS_OF_BOTH, status="sf"))
    manager.initialize()

    with pytest.raises(EngineError) as caught:
        manager.run_loop(10)
    assert caught.value.engine == "a" and 'Engine "a"' in str(caught.value)
    assert manager.state is SimulationState.FAILED and manager.error == str(caught.value)
    # Its third step (started in iteration 2) never completed: iteration 3 could not run.
    assert [entry["iteration"] for entry in entries("sf")] == [0, 1, 2]
    manager.shutdown()
    assert manager.state is SimulationState.CREATED


def test_a_run_request_waits_for_the_steps_it_started(tmp_path, simulation):
    engines = [json_engine("a", 0.01, EngineExtraConfigs={"exit_at_step": 3})]
    manager = simulation(write_experiment(tmp_path / "exp", engines, """
        @StatusFunction()
        def sf():
            return False, []
    """, status="sf"))
    manager.initialize()

    # The third step is started by the third (last) iteration of this request.
    with pytest.raises(EngineError) as caught:
        manager.run_loop(3)
    assert caught.value.engine == "a"
    assert manager.state is SimulationState.FAILED


@pytest.fixture
def engine_servers(tmp_path, no_leftover_processes):
    """Starts engine servers the way a user would for EmptyLaunchCommand; stops what is left."""
    started = []
    output = open(tmp_path / "servers.log", "w")

    def start(protocol: str, name: str, address: str, cwd) -> subprocess.Popen:
        command = [sys.executable, "-m", f"engines.servers.python_{protocol}", f"--engine={name}",
                   f"--serverurl={address}"]
        process = subprocess.Popen(command, cwd=cwd, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    output.close()


def test_engines_started_by_the_user_with_empty_launch_command(tmp_path, simulation, engine_servers):
    json_address, grpc_address = free_address(), free_address()
    user_started = {"EngineLaunchCommand": {"LaunchType": "EmptyLaunchCommand"}}
    engines = [json_engine("a", 0.01, ServerAddress=json_address, **user_started),
               grpc_engine("b", 0.02, ServerAddress=grpc_address, **user_started)]
    config = write_experiment(tmp_path / "exp", engines, STATUS_OF_BOTH, status="sf")
    servers = [engine_servers("json", "a", json_address, config.parent),
               engine_servers("grpc", "b", grpc_address, config.parent)]
    children_before = {child.pid for child in psutil.Process().children(recursive=True)}

    manager = simulation(config)
    manager.initialize()
    manager.run_loop(5)
    last = entries("sf")[-1]
    assert (last["a"]["steps"], last["b"]["steps"]) == (4, 2)
    assert {child.pid for child in psutil.Process().children(recursive=True)} - children_before == set()

    manager.shutdown()
    assert manager.state is SimulationState.CREATED
    # The shutdown request reached both servers, which then exit by themselves.
    assert [server.wait(10) for server in servers] == [0, 0]
