"""The py_sim engine as a real process (`python -m engines.servers.py_sim`), driven over its socket with
nrp-core's JSON/REST protocol, as NRPCoreSim drives it."""

import http.client
import shutil
import sys

import pytest

from engines.servers.script.script_host import EngineStateError, ScriptHost
from engines.servers.simulators.base import WorldFileError
from engines.servers.simulators.engine_script import PySimEngineScript

from tests.engines.servers.conftest import NLOHMANN_TYPE, TIME_RATIO, engine_env
from tests.conftest import EXPERIMENTS
from tests.engines.servers.simulators.conftest import GRAVITY, ROTOR_INERTIA, mujoco_config, write

pytestmark = pytest.mark.timeout(60)

STEP = 10_000_000  # 10 ms

ENGINE = '''\
import os

from nrp_core.engines.py_sim import PySimEngineScript


class Script(PySimEngineScript):
    def initialize(self):
        self._registerDataPack("state")
        self._registerDataPack("command")
        self._registerDataPack("camera")
        image = self.sim_manager.get_model_property("front", "camera_image")
        self._setDataPack("camera", {"shape": list(image.shape), "gl": os.environ.get("MUJOCO_GL")})
        self._publish()

    def runLoop(self, timestep_ns):
        command = self._getDataPack("command") or {}
        if command.get("fail"):
            raise RuntimeError("the script was asked to fail")
        if command.get("exit"):
            os._exit(7)
        self.sim_manager.run_step(command.get("ctrl"), timestep_ns)
        self._publish()

    def _publish(self):
        self._setDataPack("state", {
            "z": self.sim_manager.get_model_property("ball", "body_xpos")[2],
            "spin_rate": self.sim_manager.get_model_property("spin", "joint_qvel")[0],
            "sim_time": self.sim_manager.get_sim_time()})

    def reset(self):
        self.sim_manager.reset()
        self._publish()

    def shutdown(self):
        print("script shutdown", flush=True)
'''


def request(*names, engine="sim"):
    return {name: {"engine_name": engine, "type": NLOHMANN_TYPE} for name in names}


def data(reply, name):
    return reply[name]["data"]


def init_config(**overrides):
    return {**mujoco_config(), "PythonFileName": "engine.py", "TimeRatio": TIME_RATIO, **overrides}


@pytest.fixture
def mujoco_engine(mjcf, start_py_sim, json_client):
    write(mjcf, "engine.py", ENGINE)
    env = engine_env()
    env.pop("MUJOCO_GL", None)  # the engine must choose EGL itself
    engine = start_py_sim(env=env)
    return engine, json_client(engine.address)


def test_the_engine_steps_mujoco_and_serves_its_state(mujoco_engine):
    engine, client = mujoco_engine
    client.ok("/initialize", init_config())

    camera = data(client.ok("/get_datapacks", request("camera")), "camera")
    assert camera == {"shape": [120, 160, 3], "gl": "egl"}
    assert data(client.ok("/get_datapacks", request("state")), "state")["z"] == 10.0

    client.ok("/set_datapacks", {"command": {"engine_name": "sim", "type": NLOHMANN_TYPE, "data": {"ctrl": [1.0, 0]}}})
    for step in range(1, 51):
        assert client.ok("/run_loop", {"time_step": STEP}) == {"time": step * STEP}
    state = data(client.ok("/get_datapacks", request("state")), "state")

    assert state["sim_time"] == pytest.approx(0.5)
    assert 10.0 - state["z"] == pytest.approx(GRAVITY * 0.5**2 / 2, abs=GRAVITY * 0.002 * 0.5)
    assert state["spin_rate"] == pytest.approx(1.0 / ROTOR_INERTIA * 0.5, rel=1e-3)

    client.ok("/reset", "reset")
    state = data(client.ok("/get_datapacks", request("state")), "state")
    assert state == {"z": 10.0, "spin_rate": 0.0, "sim_time": 0.0}
    assert client.ok("/run_loop", {"time_step": STEP}) == {"time": STEP}

    client.ok("/shutdown", None)
    assert engine.wait_exit() == 0


def test_visualizer_true_runs_headless_with_a_warning(mujoco_engine):
    engine, client = mujoco_engine
    client.ok("/initialize", init_config(Visualizer=True))
    client.ok("/run_loop", {"time_step": STEP})
    client.ok("/shutdown", None)

    assert engine.wait_exit() == 0
    assert "Visualizer is true, but py_sim engines run headless here" in engine.stderr()


def test_a_missing_world_file_fails_initialize_naming_the_engine_and_the_file(mujoco_engine):
    engine, client = mujoco_engine
    status, reply = client.post("/initialize", init_config(WorldFileName="models/absent.xml"))

    assert status == 500
    assert reply.startswith('Engine "sim": initialize failed (script engine.py)')
    assert 'WorldFileName "models/absent.xml": file not found' in reply
    client.ok("/shutdown", None)
    assert engine.wait_exit() == 0


def test_opensim_fails_initialize_saying_it_is_not_available(mujoco_engine):
    engine, client = mujoco_engine
    status, reply = client.post("/initialize", init_config(Simulator="Opensim"))

    assert status == 500 and 'Simulator "Opensim" is not available' in reply


def test_a_failing_step_names_the_script_line_and_the_engine_keeps_serving(mujoco_engine):
    engine, client = mujoco_engine
    client.ok("/initialize", init_config())
    client.ok("/set_datapacks", {"command": {"engine_name": "sim", "type": NLOHMANN_TYPE, "data": {"fail": True}}})
    status, reply = client.post("/run_loop", {"time_step": STEP})

    assert status == 500
    line = ENGINE.splitlines().index('            raise RuntimeError("the script was asked to fail")') + 1
    assert (f"run_loop failed in engine.py, line {line}, in runLoop: RuntimeError: the script was asked to fail"
            in reply)
    client.ok("/set_datapacks", {"command": {"engine_name": "sim", "type": NLOHMANN_TYPE, "data": {}}})
    client.ok("/run_loop", {"time_step": STEP})
    client.ok("/shutdown", None)
    assert engine.wait_exit() == 0


def test_a_bad_action_names_the_actuators(mujoco_engine):
    engine, client = mujoco_engine
    client.ok("/initialize", init_config())
    client.ok("/set_datapacks", {"command": {"engine_name": "sim", "type": NLOHMANN_TYPE, "data": {"ctrl": [1, 2, 3]}}})
    status, reply = client.post("/run_loop", {"time_step": STEP})

    assert status == 500
    assert "ActionError: the action has 3 values but probe.xml has 2 actuators ['spin_motor', 'hinge_motor']" in reply


def test_a_script_that_kills_its_process_mid_step_breaks_the_connection(mujoco_engine):
    engine, client = mujoco_engine
    client.ok("/initialize", init_config())
    client.ok("/set_datapacks", {"command": {"engine_name": "sim", "type": NLOHMANN_TYPE, "data": {"exit": True}}})

    with pytest.raises((http.client.HTTPException, ConnectionError)):
        client.post("/run_loop", {"time_step": STEP})
    assert engine.wait_exit() == 7


def test_the_cartpole_engine_steps_gymnasium_over_the_socket(tmp_path, start_py_sim, json_client):
    shutil.copy(EXPERIMENTS / "cartpole" / "cartpole_engine.py", tmp_path)
    engine = start_py_sim(name="cartpole")
    client = json_client(engine.address)
    client.ok("/initialize", {"EngineName": "cartpole", "EngineType": "py_sim", "Simulator": "OpenAI",
                              "WorldFileName": "CartPole-v1", "PythonFileName": "cartpole_engine.py",
                              "EngineTimestep": 0.02, "EngineExtraConfigs": {"Seed": 1}, "TimeRatio": TIME_RATIO})
    push_right = {"action": {"engine_name": "cartpole", "type": NLOHMANN_TYPE, "data": {"action": 1}}}

    steps = 0
    while True:
        reply = client.ok("/step", {"set": push_right, "time_step": 20_000_000,
                                    "get": request("observation", "balance", engine="cartpole")})
        steps += 1
        balance = reply["datapacks"]["balance"]["data"]
        if balance["falls"]:
            break
        assert steps < 200 and balance["steps_up"] == steps

    # Pushed right without pause, the pole falls within a few dozen steps, and that was the longest.
    assert balance == {"steps_up": 0, "longest": steps, "longest_s": pytest.approx(steps * 0.02), "falls": 1,
                       "episodes": 1, "time_s": pytest.approx(steps * 0.02)}
    client.ok("/shutdown", None)
    assert engine.wait_exit() == 0


# In process: the base class builds the simulator in ScriptBase._prepare, before the script's initialize().

PREPARED = '''\
from nrp_core.engines.py_sim import PySimEngineScript


class Script(PySimEngineScript):
    def __init__(self):  # no super().__init__(), as nrp-core scripts often do
        self.ready_at_initialize = None

    def initialize(self):
        self.ready_at_initialize = "_sim_manager" in self.__dict__ and self.sim_manager.get_sim_time()

    def runLoop(self, timestep_ns):
        self.sim_manager.run_step([0.0, 0.0], timestep_ns)
'''

OWN_MANAGER = '''\
from nrp_core.engines.py_sim import PySimEngineScript


class Script(PySimEngineScript):
    def __init__(self):
        self.sim_manager = "installed by the script"

    def runLoop(self, timestep_ns):
        pass
'''


@pytest.fixture
def script_dir(mjcf, monkeypatch):
    """mjcf's directory as the working directory; the loader's sys.path entry and modules are undone."""
    monkeypatch.chdir(mjcf)
    path = list(sys.path)
    yield mjcf
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(str(mjcf)):
            del sys.modules[name]


def host_config(python_file: str, **overrides) -> dict:
    return {**mujoco_config(), "PythonFileName": python_file, "TimeRatio": TIME_RATIO, **overrides}


def test_the_simulator_is_ready_in_the_scripts_initialize(script_dir):
    write(script_dir, "prepared_engine.py", PREPARED)
    host = ScriptHost("sim", PySimEngineScript)
    host.initialize(host_config("prepared_engine.py"))
    try:
        with host.script() as script:
            assert script.ready_at_initialize == 0.0
        assert host.run_loop(STEP) == STEP
        with host.script() as script:
            assert script.sim_manager.get_sim_time() == pytest.approx(STEP / 1e9)
    finally:
        host.close(timeout=5)


def test_a_manager_the_script_installs_is_kept(script_dir):
    write(script_dir, "own_manager_engine.py", OWN_MANAGER)
    host = ScriptHost("sim", PySimEngineScript)
    # Its WorldFileName is missing: nothing is built from it, so initialize succeeds.
    host.initialize(host_config("own_manager_engine.py", WorldFileName="absent.xml"))
    with host.script() as script:
        assert script.sim_manager == "installed by the script"
    host.close(timeout=5)


def test_a_bad_world_file_fails_initialize_before_the_scripts_initialize(script_dir):
    write(script_dir, "prepared_engine.py", PREPARED)
    host = ScriptHost("sim", PySimEngineScript)
    with pytest.raises(WorldFileError) as raised:
        host.initialize(host_config("prepared_engine.py", WorldFileName="absent.xml"))

    assert host.describe_failure("initialize", raised.value).startswith(
        'Engine "sim": initialize failed (script prepared_engine.py)')
    assert 'WorldFileName "absent.xml": file not found' in str(raised.value)
    with pytest.raises(EngineStateError, match="not initialized"):
        host.run_loop(STEP)


def test_without_a_server_the_manager_is_built_on_first_use(script_dir):
    class Script(PySimEngineScript):
        def runLoop(self, timestep_ns):
            pass

    script = Script()
    script._config = mujoco_config()
    assert "_sim_manager" not in script.__dict__  # setting the config builds nothing
    assert script.sim_manager.get_sim_time() == 0.0
    script.sim_manager.shutdown()
