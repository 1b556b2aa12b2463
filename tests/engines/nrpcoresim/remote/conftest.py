"""Engines started by hand, as a user would on another machine, and reached at their ServerAddress.

`RemoteEngines.start(...)` runs the engine's console script exactly as docs/deployment.md tells a
user to (`nrp-python-json-engine --engine=NAME --serverurl=HOST:PORT`, no `--regservurl`, no
`NRP_PARENT_PID`), in the folder that holds its script, and returns once the engine says where it
serves. The simulation side only learns that address from the config.

`machine_host` is the address the engines listen on and the config names: loopback, and an address
of one of this machine's other interfaces, so that nothing assumes localhost.
"""

import json
import re
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

from tests.conftest import BIN_DIR, EXPERIMENTS, copy_experiment_folder
from tests.ports import free_port
from tests.waiting import eventually

EXPERIMENT = EXPERIMENTS / "tf_exchange_remote"
COMMANDS = {"python_json": "nrp-python-json-engine", "python_grpc": "nrp-python-grpc-engine",
            "datatransfer_grpc_engine": "nrp-datatransfer-engine"}
SERVING = re.compile(r"serving on (\S+)")


def interface_address() -> str | None:
    """An IPv4 address of this machine that is not loopback, if it has one."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    return None


@pytest.fixture(params=["loopback", "interface"])
def machine_host(request) -> str:
    if request.param == "loopback":
        return "127.0.0.1"
    address = interface_address()
    if address is None:
        pytest.skip("this machine has no network interface besides loopback")
    return address


@dataclass
class RemoteEngine:
    name: str
    command: list[str]
    process: subprocess.Popen
    address: str
    stdout_path: Path
    stderr_path: Path

    def stdout(self) -> str:
        return self.stdout_path.read_text()

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_exit(self, timeout: float = 10.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"engine {self.name} still running {timeout} s later:\n{self.stderr()}")


class RemoteEngines:
    """Engine servers started by hand in `folder`; `close()` kills whatever the test left running."""

    def __init__(self, folder: Path, logs: Path, env: dict):
        self.folder = folder
        self.logs = logs
        self.env = {key: value for key, value in env.items() if key != "NRP_PARENT_PID"}
        self.engines: list[RemoteEngine] = []

    def start(self, engine_type: str, name: str, host: str, port: int | None = None,
              timeout: float = 30.0) -> RemoteEngine:
        port = port or free_port(host)
        # The command a user types on the engine's machine.
        command = [str(BIN_DIR / COMMANDS[engine_type]), f"--engine={name}", f"--serverurl={host}:{port}"]
        count = len(self.engines)
        stdout_path, stderr_path = self.logs / f"{name}-{count}.out", self.logs / f"{name}-{count}.err"
        with open(stdout_path, "w") as out, open(stderr_path, "w") as err:
            process = subprocess.Popen(command, cwd=self.folder, env=self.env, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=err)

        def serving():
            if process.poll() is not None:
                pytest.fail(f"engine {name} exited with {process.returncode}:\n{stderr_path.read_text()}")
            return SERVING.search(stderr_path.read_text())

        try:
            match = eventually(serving, timeout, lambda: f"engine {name} serving:\n{stderr_path.read_text()}")
        except AssertionError:
            process.kill()
            raise
        engine = RemoteEngine(name, command, process, match.group(1), stdout_path, stderr_path)
        self.engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self.engines:
            if engine.process.poll() is None:
                engine.process.kill()
                engine.process.wait(10)


@pytest.fixture
def experiment(tmp_path) -> Path:
    """A copy of experiments/tf_exchange_remote, where both the engines and NRPCoreSim run."""
    folder = tmp_path / "tf_exchange_remote"
    copy_experiment_folder(EXPERIMENT, folder, ignore=("*.log*", "*.zip"))
    return folder


@pytest.fixture
def remote_engines(experiment, tmp_path, core_env):
    engines = RemoteEngines(experiment, tmp_path, core_env)
    yield engines
    engines.close()


def point_config_at(folder: Path, addresses: dict[str, str], config: str = "simulation_config.json",
                    **changes) -> Path:
    """Writes the engines' ServerAddress (by EngineName) and top-level `changes` into the config."""
    path = folder / config
    document = json.loads(path.read_text())
    for engine in document["EngineConfigs"]:
        if engine["EngineName"] in addresses:
            engine["ServerAddress"] = addresses[engine["EngineName"]]
    document.update(changes)
    path.write_text(json.dumps(document, indent=4))
    return path


def run_nrpcoresim(*args, cwd, env, timeout=90) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN_DIR / "NRPCoreSim"), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)


def start_nrpcoresim(*args, cwd, env) -> subprocess.Popen:
    return subprocess.Popen([str(BIN_DIR / "NRPCoreSim"), *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def received_steps(engine: RemoteEngine) -> list[tuple[int, int]]:
    """(engine time, the time engine 1 published and the function handed over) for each step of engine 2."""
    steps = re.findall(r"python_2 at (\d+) ns received (\d+)", engine.stdout())
    return [(int(now), int(got)) for now, got in steps]


def steps_while_running(simulation: subprocess.Popen, engine: RemoteEngine, count: int,
                        within_s: float = 60) -> None:
    """Waits until `engine` has seen `count` steps of python_2; fails at once if NRPCoreSim ends first."""

    def stepped() -> bool:
        if simulation.poll() is not None:
            pytest.fail(f"NRPCoreSim ended (status {simulation.returncode}) before {count} steps:\n"
                        f"{simulation.communicate()}")
        return len(received_steps(engine)) >= count

    eventually(stepped, within_s, lambda: f"{count} steps of python_2:\n{engine.stderr()}")
