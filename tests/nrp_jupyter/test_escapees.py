"""Whatever a simulation starts ends with it, however it detached: a daemon that double-forks, calls
setsid and ignores SIGTERM, started by the main script or by an engine, is gone after the stop, and
after a crash of the server followed by the restarted server's recovery."""

import pathlib
import signal
import subprocess
import sys

import psutil
import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.live_server import LiveServer, experiments_root
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)

# Detaches as a daemon does (fork, setsid, fork), ignores SIGTERM, and writes its pid to argv[1].
DAEMON = """
import os, signal, sys, time
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
with open(sys.argv[1] + ".partial", "w") as out:
    out.write(str(os.getpid()))
os.replace(sys.argv[1] + ".partial", sys.argv[1])
while True:
    time.sleep(1)
"""

SPAWN = """
import subprocess, sys
subprocess.run([sys.executable, "-c", {daemon!r}, {pid_file!r}], check=True)
"""

SLOW_ENGINE = """
import time
from nrp_core.engines.python_json import EngineScript
{spawn}

class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {{"time": 0, "timestep": 0}})

    def runLoop(self, timestep_ns):
        time.sleep(0.004)
        self._setDataPack("datapack1", {{"time": self._time_ns, "timestep": timestep_ns}})
"""


def write_experiment(folder: pathlib.Path, pid_file: pathlib.Path, spawner: str) -> None:
    """tf_exchange running for 10 s, whose main script or engine 1 starts the daemon."""
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", folder)
    spawn = SPAWN.format(daemon=DAEMON, pid_file=str(pid_file))
    (folder / "engine_1.py").write_text(SLOW_ENGINE.format(spawn=spawn if spawner == "engine" else ""))
    if spawner == "main script":
        script = folder / "main_script.py"
        script.write_text(spawn + script.read_text())
    config = folder / "simulation_config.json"
    config.write_text(config.read_text().replace('"SimulationTimeout": 1', '"SimulationTimeout": 10'))


def daemon_pid(pid_file: pathlib.Path, within_s: float = 20.0) -> int:
    eventually(pid_file.exists, within_s, "the daemon did not start")
    return int(pid_file.read_text())


def running(pid: int) -> bool:
    """Whether `pid` runs; a zombie has ended (it is not our child: whoever adopted it reaps it)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_gone(pid: int, within_s: float) -> None:
    eventually(lambda: not running(pid), within_s, f"the daemon (pid {pid}) outlived its simulation")


@pytest.fixture
def server(tmp_path):
    running = LiveServer(experiments_root(tmp_path / "root", EXPERIMENTS, names=()), tmp_path).start()
    yield running
    running.close()


@pytest.fixture
def kill_strays():
    """Kills daemons a failing test left behind, so that a failure does not leak them further."""
    pids = []
    yield pids.append
    for pid in pids:
        if psutil.pid_exists(pid):
            psutil.Process(pid).kill()


@pytest.mark.parametrize("spawner", ["main script", "engine"])
@pytest.mark.parametrize("stopped_from", ["started", "paused"])
def test_a_detached_daemon_ends_with_the_stop(server, tmp_path, kill_strays, spawner, stopped_from):
    pid_file = tmp_path / "daemon.pid"
    write_experiment(server.root / "experiments" / "detaching", pid_file, spawner)
    code, answer = server.call("POST", "simulation", body={"experimentID": "detaching"})
    assert code == 201, answer
    simulation_id = answer["simulationID"]
    assert server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "started"})[0] == 200
    pid = daemon_pid(pid_file)
    kill_strays(pid)
    # Detached: no process tree of the server's holds it.
    assert pid not in [child.pid for child in psutil.Process(server.process.pid).children(recursive=True)]
    if stopped_from == "paused":
        assert server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "paused"})[0] == 200

    # How long a stop takes is measured by benchmarks/control_latency.py.
    code, answer = server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "stopped"})

    assert (code, answer) == (200, {"state": "stopped"})
    assert_gone(pid, within_s=1.0)


@pytest.mark.parametrize("spawner", ["main script", "engine"])
def test_a_detached_daemon_ends_with_the_recovery_after_a_server_crash(server, tmp_path, kill_strays, spawner):
    pid_file = tmp_path / "daemon.pid"
    write_experiment(server.root / "experiments" / "detaching", pid_file, spawner)
    code, answer = server.call("POST", "simulation", body={"experimentID": "detaching"})
    assert code == 201, answer
    simulation_id = answer["simulationID"]
    server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "started"})
    pid = daemon_pid(pid_file)
    kill_strays(pid)

    server.stop(signal.SIGKILL)
    assert psutil.pid_exists(pid)  # the crash took nothing of the simulation's with it
    server.start()

    assert_gone(pid, within_s=2.0)
    code, record = server.call("GET", "simulation", str(simulation_id))
    assert record["state"] == "failed"


# A process that starts a sleeper, says its pid and waits for it: the sleeper is not our child.
PARENT_OF_SLEEPER = """
import subprocess, sys
sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print(sleeper.pid, flush=True)
sleeper.wait()
"""


def test_the_sweep_ends_only_the_marked_simulations_processes_and_leaves_our_children_to_us():
    from nrp_jupyter.server.process_sweep import end_processes_of

    parent = psutil.Popen([sys.executable, "-c", PARENT_OF_SLEEPER], stdout=subprocess.PIPE, text=True,
                          env={"KERNEL_NRP_SIMULATION_DIR": "/tmp/nrp.1.other"})
    try:
        sleeper = int(parent.stdout.readline())
        assert end_processes_of("/tmp/nrp.2.mine") == []
        assert psutil.pid_exists(sleeper)
        # The sleeper is ended; our own child (as a kernel is the server's) is the kernel manager's to end.
        assert end_processes_of("/tmp/nrp.1.other") == [sleeper]
        parent.wait(timeout=5)  # its sleeper ended, so it does
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        parent.stdout.close()
