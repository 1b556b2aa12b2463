"""Engines run inside NRPCoreSim's process (LaunchType InProcess) behave as over RPC: the same
trajectory and datapacks, the same failure messages, reset, shutdown, timeouts, and engine steps
that still overlap. Each experiment runs under a SimulationManager in this process, whose working
directory is the experiment's, as NRPCoreSim's is."""

import json
import pathlib
import re
import shutil
import subprocess

import pytest

from engines.errors import ConfigError, EngineError, EngineLaunchError, EngineTimeout, FailureKind, failure_detail
from engines.nrpcoresim.config import load_simulation_config
from engines.nrpcoresim.lifecycle import SimulationState
from engines.nrpcoresim.manager import SimulationManager
from tests.conftest import BIN_DIR

pytestmark = [pytest.mark.usefixtures("no_leftover_processes"), pytest.mark.timeout(60)]

IN_PROCESS = {"LaunchType": "InProcess"}
TF_EXCHANGE = pathlib.Path(__file__).resolve().parents[3] / "experiments" / "tf_exchange"

# Both tf_exchange datapacks at every iteration, as plain values, for either protocol.
TF_EXCHANGE_STATUS = """\
from nrp_core import *
from nrp_core.data.nrp_json import *


def plain(datapack):
    if datapack.isEmpty():
        return None
    data = datapack.data
    return data.string_stream if hasattr(data, "string_stream") else dict(data)


@EngineDataPack(keyword="sent", id=DataPackIdentifier("datapack1", "python_1"))
@EngineDataPack(keyword="received", id=DataPackIdentifier("rec_datapack2", "python_2"))
@SimulationIteration(keyword="i")
@StatusFunction()
def status(sent, received, i):
    return i == 19, [JsonRawData({"i": i, "sent": plain(sent), "received": plain(received)})]
"""


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """Copies an experiment into a fresh directory, which becomes the working directory."""

    def copy(source: pathlib.Path, name: str = "exp"):
        directory = tmp_path / name
        shutil.copytree(source, directory)
        monkeypatch.chdir(directory)
        return directory

    return copy


@pytest.fixture
def simulation(tmp_path):
    """Builds SimulationManagers from a config file with edits; tears every one down at the end."""
    managers = []
    # Line-buffered, as NRPCoreSim opens its log file.
    engine_log = open(tmp_path / "engines.log", "w", buffering=1)  # noqa: SIM115 (outlives the managers)

    def build(config_path, edit=lambda engine: None, **settings):
        config = json.loads(config_path.read_text())
        config.update(settings)
        for engine in config["EngineConfigs"]:
            # Free ports, so that these engines never meet another test's.
            engine.update(ServerAddress="127.0.0.1:0", RegistrationServerAddress="127.0.0.1:0")
            edit(engine)
        config_path.write_text(json.dumps(config))
        manager = SimulationManager(load_simulation_config(config_path), base_dir=config_path.parent,
                                    engine_output=engine_log)
        managers.append(manager)
        return manager

    yield build
    for manager in managers:
        manager.teardown()
    engine_log.close()


def in_process(engine):
    engine["EngineLaunchCommand"] = IN_PROCESS


def write_script(directory, name, body):
    (directory / name).write_text(body)


@pytest.mark.parametrize("config_name", ["simulation_config.json", "simulation_config_grpc.json"])
def test_tf_exchange_in_process_gives_the_datapacks_and_trajectory_of_rpc(experiment, simulation, config_name):
    trajectories = {}
    for label, edit in (("rpc", lambda engine: None), ("in process", in_process)):
        directory = experiment(TF_EXCHANGE, label.replace(" ", "_"))
        write_script(directory, "status.py", TF_EXCHANGE_STATUS)
        manager = simulation(directory / config_name, edit, StatusFunction={"Name": "status", "FileName": "status.py"})
        initial = manager.initialize()
        done, trajectory = manager.run_loop(30)
        assert done and manager.state is SimulationState.STOPPED
        trajectories[label] = (initial, trajectory)
        manager.shutdown()

    assert trajectories["in process"] == trajectories["rpc"]
    _, trajectory = trajectories["rpc"]
    assert len(trajectory) == 20 and trajectory[0]["i"] == 0
    # Engine 2 receives at each step what engine 1 published at the step before.
    assert trajectory[5]["received"] is not None


def test_what_an_in_process_script_prints_goes_to_the_engine_output(experiment, simulation, tmp_path):
    directory = experiment(TF_EXCHANGE)
    manager = simulation(directory / "simulation_config.json", in_process)
    manager.initialize()
    manager.run_loop(3)
    manager.shutdown()
    printed = (tmp_path / "engines.log").read_text()
    assert "Engine 1 is initializing" in printed and "python_2 at 20000000 ns received" in printed
    assert "Engine 2 is shutting down" in printed


RAISING_JSON = """\
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("state")
        if self._config["EngineExtraConfigs"].get("fail_initialize"):
            raise ValueError("no such world")

    def runLoop(self, timestep_ns):
        if self._time_ns >= 30_000_000:
            1 / 0
"""

RAISING_GRPC = """\
from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2


class Script(GrpcEngineScript):
    def initialize(self):
        self._registerDataPack("state", dump_pb2.String)
        if self._config["EngineExtraConfigs"].get("fail_initialize"):
            raise ValueError("no such world")

    def runLoop(self, timestep_ns):
        if self._time_ns >= 30_000_000:
            1 / 0
"""


def raising_experiment(directory, protocol: str):
    directory.mkdir()
    write_script(directory, "raising.py", RAISING_JSON if protocol == "json" else RAISING_GRPC)
    engine = {"EngineType": "python_json" if protocol == "json" else "python_grpc", "EngineName": "brittle",
              "PythonFileName": "raising.py", "EngineTimestep": 0.01}
    path = directory / "simulation_config.json"
    path.write_text(json.dumps({"SimulationName": "raising", "EngineConfigs": [engine]}))
    return path


def engine_servers_words(message: str) -> str:
    """What the engine's server answered, inside its client's account of the failure."""
    return message[message.rindex('Engine "brittle": '):]


@pytest.mark.parametrize("protocol", ["json", "grpc"])
def test_a_raising_script_is_reported_naming_engine_file_and_line_as_over_rpc(tmp_path, monkeypatch, simulation,
                                                                               protocol):
    messages = {}
    for label, edit in (("rpc", lambda engine: None), ("in process", in_process)):
        config = raising_experiment(tmp_path / label.replace(" ", "_"), protocol)
        monkeypatch.chdir(config.parent)
        manager = simulation(config, edit)
        manager.initialize()
        with pytest.raises(EngineError) as failure:
            manager.run_loop(10)
        assert manager.state is SimulationState.FAILED
        messages[label] = str(failure.value)

    words = engine_servers_words(messages["in process"])
    assert words == engine_servers_words(messages["rpc"])
    line = 12 if protocol == "json" else 13
    assert words.startswith(f'Engine "brittle": step failed in raising.py, line {line}, in runLoop: ZeroDivisionError')
    assert messages["in process"].startswith('Engine "brittle": ')


@pytest.mark.parametrize("protocol", ["json", "grpc"])
def test_an_engine_refusing_to_initialize_in_process_is_the_experiments_fault(tmp_path, monkeypatch, simulation,
                                                                             protocol):
    config = raising_experiment(tmp_path / "exp", protocol)
    monkeypatch.chdir(config.parent)
    manager = simulation(config, lambda engine: (in_process(engine),
                                                 engine.update(EngineExtraConfigs={"fail_initialize": True})))
    with pytest.raises(EngineError) as failure:
        manager.initialize()
    detail = failure_detail(failure.value)
    assert (detail.kind, detail.engine, detail.file, detail.line) == (
        FailureKind.ENGINE_REFUSED, "brittle", "raising.py", 8 if protocol == "json" else 9)
    assert "ValueError: no such world" in str(failure.value)


COUNTING_JSON = """\
from nrp_core.engines.python_json import EngineScript

SHUTDOWNS = []


class Script(EngineScript):
    def initialize(self):
        self._resets = 0
        self._registerDataPack("count")
        self._registerDataPack("inbox")
        self._publish()

    def runLoop(self, timestep_ns):
        self._publish()

    def reset(self):
        self._resets += 1
        self._publish()

    def shutdown(self):
        SHUTDOWNS.append(self._name)

    def _publish(self):
        self._setDataPack("count", {"time": self._time_ns, "resets": self._resets, "inbox": self._getDataPack("inbox")})
"""

COUNTING_STATUS = """\
from nrp_core import *
from nrp_core.data.nrp_json import *


@EngineDataPack(keyword="count", id=DataPackIdentifier("count", "counter"))
@StatusFunction()
def status(count):
    return False, [JsonRawData(dict(count.data))]
"""


def counting_experiment(directory):
    directory.mkdir()
    write_script(directory, "counter.py", COUNTING_JSON)
    write_script(directory, "status.py", COUNTING_STATUS)
    path = directory / "simulation_config.json"
    path.write_text(json.dumps({
        "SimulationName": "counting", "StatusFunction": {"Name": "status", "FileName": "status.py"},
        "EngineConfigs": [{"EngineType": "python_json", "EngineName": "counter", "PythonFileName": "counter.py",
                           "EngineTimestep": 0.01}]}))
    return path


def test_reset_rewinds_an_in_process_engine_and_shutdown_ends_its_script(tmp_path, monkeypatch, simulation):
    config = counting_experiment(tmp_path / "exp")
    monkeypatch.chdir(config.parent)
    manager = simulation(config, in_process)
    assert manager.initialize() == [{"time": 0, "resets": 0, "inbox": None}]
    manager.run_loop(3)

    from engines.datapacks import JsonDataPack

    trajectory = manager.reset([JsonDataPack("inbox", "counter", {"from": "client"})])
    # The client's datapack reached the engine before its reset, which published it with the time it
    # had reached: the engine's time goes back to 0 once reset() returns.
    assert trajectory == [{"time": 30_000_000, "resets": 1, "inbox": {"from": "client"}}]
    assert manager.time_ns == 0 and manager.state is SimulationState.INITIALIZED

    import counter

    manager.shutdown()
    assert counter.SHUTDOWNS == ["counter"]
    # A shut-down simulation initialises again, with a fresh script.
    assert manager.initialize() == [{"time": 0, "resets": 0, "inbox": None}]


SLEEPY_JSON = """\
import time

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def runLoop(self, timestep_ns):
        time.sleep(4)  # well past the command timeout below
"""


def test_an_in_process_step_past_its_command_timeout_fails_the_request_naming_the_engine(tmp_path, monkeypatch,
                                                                                         simulation):
    directory = tmp_path / "exp"
    directory.mkdir()
    write_script(directory, "sleepy.py", SLEEPY_JSON)
    config = directory / "simulation_config.json"
    config.write_text(json.dumps({"SimulationName": "sleepy", "EngineConfigs": [
        {"EngineType": "python_json", "EngineName": "sleepy", "PythonFileName": "sleepy.py",
         # Long enough for initialize on a loaded machine; the step sleeps well past it.
         "EngineTimestep": 0.01, "EngineCommandTimeout": 1.0}]}))
    monkeypatch.chdir(directory)
    manager = simulation(config, in_process)
    manager.initialize()
    with pytest.raises(EngineTimeout, match='Engine "sleepy": loop is taking too long'):
        manager.run_loop(2)
    assert manager.state is SimulationState.FAILED
    manager.shutdown()


RENDEZVOUS_JSON = """\
from nrp_core.engines.python_json import EngineScript

import rendezvous


class Script(EngineScript):
    def runLoop(self, timestep_ns):
        # Returns only once the other engine's step has got here too: the steps must overlap.
        rendezvous.BARRIER.wait(timeout=20)
"""


def test_in_process_engines_still_step_concurrently(tmp_path, monkeypatch, simulation):
    directory = tmp_path / "exp"
    directory.mkdir()
    write_script(directory, "rendezvous.py", "import threading\n\nBARRIER = threading.Barrier(2)\n")
    write_script(directory, "meeting.py", RENDEZVOUS_JSON)
    engines = [{"EngineType": "python_json", "EngineName": name, "PythonFileName": "meeting.py",
                "EngineTimestep": 0.01} for name in ("left", "right")]
    config = directory / "simulation_config.json"
    config.write_text(json.dumps({"SimulationName": "meeting", "EngineConfigs": engines}))
    monkeypatch.chdir(directory)
    manager = simulation(config, in_process)
    manager.initialize()
    manager.run_loop(5)
    assert manager.time_ns == 50_000_000


GYM_SCRIPT = """\
from nrp_core.engines.py_sim import PySimEngineScript


class Script(PySimEngineScript):
    def initialize(self):
        self._registerDataPack("observation")
        self._publish()

    def runLoop(self, timestep_ns):
        if self.sim_manager.run_step(self._time_ns // timestep_ns % 2, timestep_ns):
            self.sim_manager.reset()
        self._publish()

    def _publish(self):
        self._setDataPack("observation", {"observation": self.sim_manager.get_model_property("observation", "Property"),
                                          "time": self.sim_manager.get_sim_time()})
"""

GYM_STATUS = """\
from nrp_core import *
from nrp_core.data.nrp_json import *


@EngineDataPack(keyword="seen", id=DataPackIdentifier("observation", "cartpole"))
@StatusFunction()
def status(seen):
    return False, [JsonRawData(dict(seen.data))]
"""


def test_a_py_sim_engine_in_process_steps_its_simulator_as_over_rpc(tmp_path, monkeypatch, simulation):
    trajectories = {}
    for label, edit in (("rpc", lambda engine: None), ("in_process", in_process)):
        directory = tmp_path / label
        directory.mkdir()
        write_script(directory, "cartpole.py", GYM_SCRIPT)
        write_script(directory, "status.py", GYM_STATUS)
        config = directory / "simulation_config.json"
        config.write_text(json.dumps({
            "SimulationName": "cartpole", "StatusFunction": {"Name": "status", "FileName": "status.py"},
            "EngineConfigs": [{"EngineType": "py_sim", "EngineName": "cartpole", "PythonFileName": "cartpole.py",
                               "Simulator": "OpenAI", "WorldFileName": "CartPole-v1", "EngineTimestep": 0.02,
                               "EngineExtraConfigs": {"Seed": 0}}]}))
        monkeypatch.chdir(directory)
        manager = simulation(config, edit)
        trajectories[label] = [manager.initialize()]
        trajectories[label].append(manager.run_loop(30))
        trajectories[label].append(manager.reset())
        trajectories[label].append(manager.run_loop(30))
        manager.shutdown()

    assert trajectories["in_process"] == trajectories["rpc"]


def test_shutting_a_py_sim_engine_down_in_process_shuts_its_simulator_down(tmp_path, monkeypatch, simulation):
    directory = tmp_path / "exp"
    directory.mkdir()
    write_script(directory, "cartpole.py", GYM_SCRIPT)
    config = directory / "simulation_config.json"
    config.write_text(json.dumps({"SimulationName": "cartpole", "EngineConfigs": [
        {"EngineType": "py_sim", "EngineName": "cartpole", "PythonFileName": "cartpole.py", "Simulator": "OpenAI",
         "WorldFileName": "CartPole-v1", "EngineTimestep": 0.02}]}))
    monkeypatch.chdir(directory)
    manager = simulation(config, in_process)
    manager.initialize()
    simulator = manager._engines[0]._simulator
    shutdowns = []
    monkeypatch.setattr(simulator, "shutdown", lambda: shutdowns.append("simulator"))
    manager.run_loop(2)
    manager.shutdown()
    # The script never shuts its simulator down: the engine does, as the py_sim server does.
    assert shutdowns == ["simulator"]


def test_in_process_refuses_engines_that_run_in_a_process_of_their_own(tmp_path):
    config = tmp_path / "simulation_config.json"
    config.write_text(json.dumps({"SimulationName": "x", "EngineConfigs": [
        {"EngineType": "python_json", "EngineName": "a", "PythonFileName": "a.py"},
        {"EngineType": "datatransfer_grpc_engine", "EngineName": "dt", "EngineLaunchCommand": IN_PROCESS}]}))
    with pytest.raises(ConfigError) as refusal:
        load_simulation_config(config)
    assert refusal.value.path == "EngineConfigs[1].EngineLaunchCommand.LaunchType"
    assert "datatransfer_grpc_engine engine, which runs in a process of its own" in refusal.value.reason


def test_in_process_refuses_engine_environment_variables(tmp_path):
    config = tmp_path / "simulation_config.json"
    config.write_text(json.dumps({"SimulationName": "x", "EngineConfigs": [
        {"EngineType": "python_json", "EngineName": "a", "PythonFileName": "a.py", "EngineLaunchCommand": IN_PROCESS,
         "EngineEnvParams": ["A=1"]}]}))
    with pytest.raises(ConfigError) as refusal:
        load_simulation_config(config)
    assert refusal.value.path == "EngineConfigs[0].EngineEnvParams"


def test_in_process_engines_need_the_experiment_as_working_directory(tmp_path, monkeypatch):
    config = counting_experiment(tmp_path / "exp")
    monkeypatch.chdir(tmp_path)
    loaded = load_simulation_config(config)
    loaded["EngineConfigs"][0]["EngineLaunchCommand"] = IN_PROCESS
    manager = SimulationManager(loaded, base_dir=config.parent)
    try:
        with pytest.raises(EngineLaunchError, match="start NRPCoreSim in the experiment's directory"):
            manager.initialize()
    finally:
        manager.teardown()


@pytest.mark.parametrize("config_name", ["simulation_config.json", "simulation_config_grpc.json"])
def test_nrpcoresim_runs_tf_exchange_in_process_and_logs_what_the_engines_print(tmp_path, core_env, config_name):
    overrides = [argument for index in range(2)
                 for argument in ("-o", f'EngineConfigs.{index}.EngineLaunchCommand={json.dumps(IN_PROCESS)}')]
    result = subprocess.run([str(BIN_DIR / "NRPCoreSim"), "-c", config_name, "-d", str(TF_EXCHANGE), *overrides,
                             "--logoutput=all", f"--logfilename={tmp_path / 'nrpcore.log'}"],
                            check=False, cwd=tmp_path, env=core_env, capture_output=True, text=True, timeout=50)

    assert result.returncode == 0, result.stderr
    logged = (tmp_path / "nrpcore.log").read_text()
    received = re.findall(r"python_2 at (\d+) ns received (.*)", logged)
    # As over RPC: 100 steps, each holding what engine 1 published one step earlier.
    assert len(received) == 100
    assert all(str(int(engine_time) - 10_000_000) in payload for engine_time, payload in received)
    assert "Engine 1 is shutting down" in logged and "python_2 at" not in result.stdout
