"""nrp-core's own Python engine servers, run from an nrp-core checkout, under this project's
orchestrator (NRPCoreSim in server mode, driven by engines.nrpcore_client.NrpCore).

The contract, for scripts/nrp-core-conformance and the tests:

    run_real_engines(checkout, experiment, config_file="simulation_config.json",
                     started_by="launcher", workdir=None, steps=10, timeout_s=120.0) -> RealEnginesResult

- `checkout`: an nrp-core 1.4 source checkout (never written to). Its
  `nrp_python_json_engine/.../engine_server` and `nrp_python_grpc_engine/.../engine_server` hold the
  servers (`python_json_engine.py`: Flask under gunicorn; `python_grpc_engine.py`: grpcio).
- `experiment`: an experiment folder (e.g. `<checkout>/examples/tf_exchange`); it is copied into
  `workdir` (a new temporary folder if None, removed afterwards; kept if given) and only the copy's
  config is edited.
- `config_file`: the config to run; every python_json and python_grpc engine in it is served by
  nrp-core's server. A config with other engine types is refused (result not passed, reason says so).
- `started_by="launcher"`: each such engine's EngineProcCmd becomes nrp-core's server program,
  started by our launcher with the arguments nrp-core's launcher passes, and its ServerAddress a
  free port (so that runs side by side never meet at an example's fixed port). `started_by="hand"`: the
  engines become `EmptyLaunchCommand` with a free `ServerAddress`, and this function starts the
  servers itself before the simulation (and stops them after).
- The simulation runs initialize, run_loop(steps), reset, run_loop(steps), shutdown.
- Passed when every step succeeded, no log (NRPCoreSim's, which carries launched engines' output,
  and each hand-started server's) holds a Python traceback, and, for the examples known to print
  what they receive (`EVIDENCE`), that output shows data arriving. `reason` says what failed or,
  on success, what was checked; `log` holds the logs for a report.
- Processes are started in sessions of their own and all are ended before returning, whatever
  happens; `timeout_s` bounds the run of the simulation. Engine output is unbuffered, so that it
  reaches the logs in order with the servers' own messages.

The servers import `nrp_core.engines.python_json.server_callbacks` etc.: real_engines_overlay.py
puts the checkout's engine_server folder first on the package's path, so those modules are
nrp-core's while `nrp_core.data.*` and `nrp_protobuf` are this project's, as in an nrp-core
installation where the C++ bindings provide the latter.
"""

from __future__ import annotations

import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

HERE = pathlib.Path(__file__).resolve().parent
OVERLAY = HERE / "real_engines_overlay.py"
DRIVER = HERE / "real_engines_driver.py"
LOG_FILE = "real_engines_nrpcoresim.log"


@dataclass(frozen=True)
class EngineServer:
    """One of nrp-core's Python engine server programs, as found in a checkout."""

    package: str
    directory: str
    program: str


# Engine type -> (folder of its engine_server inside a checkout, package, program).
SERVERS = {
    "python_json": ("nrp_python_json_engine/nrp_python_json_engine/engine_server", "nrp_core.engines.python_json",
                    "python_json_engine.py"),
    "python_grpc": ("nrp_python_grpc_engine/nrp_python_grpc_engine/engine_server", "nrp_core.engines.python_grpc",
                    "python_grpc_engine.py"),
}

# Experiment folder name -> what the engines' output must show once data arrived.
EVIDENCE = {
    # engine_2.py prints the dict it received, engine_grpc_2.py the time string: a time > 0 came from engine 1.
    "tf_exchange": re.compile(r"Engine 2 received data is\s+(\{'time': [1-9]|[1-9])"),
}

TRACEBACK = "Traceback (most recent call last)"


@dataclass(frozen=True)
class RealEnginesResult:
    passed: bool
    reason: str
    log: str = ""


class RealEnginesError(Exception):
    """The checkout or the experiment cannot be run this way; the message says why."""


def run_real_engines(checkout, experiment, config_file: str = "simulation_config.json", *,
                     started_by: str = "launcher", workdir=None, steps: int = 10,
                     timeout_s: float = 120.0) -> RealEnginesResult:
    """Runs `experiment`'s `config_file` with nrp-core's engine servers; see the module docstring."""
    if started_by not in ("launcher", "hand"):
        raise ValueError(f"started_by is 'launcher' or 'hand', not {started_by!r}")
    own_workdir = workdir is None
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="nrp-real-engines-") if own_workdir else workdir)
    # gunicorn (27+) puts a control socket in $XDG_RUNTIME_DIR: one folder per run keeps parallel
    # runs apart, and a short path keeps it within a socket path's length limit.
    runtime_dir = tempfile.mkdtemp(prefix="nrp-rt-")
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "XDG_RUNTIME_DIR": runtime_dir}
    processes: list[subprocess.Popen] = []
    registration = None
    try:
        folder = _copy_experiment(pathlib.Path(experiment), workdir)
        config_path = folder / config_file
        config = json.loads(config_path.read_text())
        servers = _servers_of(pathlib.Path(checkout), config, config_file)
        deadline = time.monotonic() + timeout_s
        if started_by == "launcher":
            _launch_through_config(config, servers)
        else:
            registration = _registration_sink()
            processes = _start_by_hand(config, servers, folder, workdir, registration.address, env)
        config_path.write_text(json.dumps(config, indent=2))
        outcome, driver_log = _drive(folder, config_file, workdir, steps, deadline, env)
        for process in processes:
            _end(process)
        log = _collect_logs(folder, workdir, driver_log)
        return _judge(outcome, log, pathlib.Path(experiment).name, config_file, started_by)
    except RealEnginesError as error:
        return RealEnginesResult(False, str(error))
    finally:
        for process in processes:
            _end(process)
        if registration is not None:
            registration.close()
        shutil.rmtree(runtime_dir, ignore_errors=True)
        if own_workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def _copy_experiment(experiment: pathlib.Path, workdir: pathlib.Path) -> pathlib.Path:
    if not experiment.is_dir():
        raise RealEnginesError(f"experiment folder {experiment} does not exist")
    target = workdir / experiment.name
    shutil.copytree(experiment, target, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def _servers_of(checkout: pathlib.Path, config: dict, config_file: str) -> dict[str, EngineServer]:
    """The server of each engine type the config uses; RealEnginesError for a type without one."""
    servers = {}
    for engine in config.get("EngineConfigs", []):
        engine_type = engine.get("EngineType")
        if engine_type not in SERVERS:
            raise RealEnginesError(f"{config_file}: engine {engine.get('EngineName')!r} has type {engine_type!r}; "
                                   f"only {', '.join(SERVERS)} engines have nrp-core servers written in Python")
        relative, package, program = SERVERS[engine_type]
        directory = checkout / relative
        if not (directory / program).is_file():
            raise RealEnginesError(f"{directory / program} is missing: is {checkout} an nrp-core 1.4 checkout?")
        servers[engine_type] = EngineServer(package, str(directory), str(directory / program))
    return servers


def _overlay_command(server: EngineServer) -> list[str]:
    return [sys.executable, str(OVERLAY), server.directory, server.package, server.program]


def _launch_through_config(config: dict, servers: dict[str, EngineServer]) -> None:
    for engine in config["EngineConfigs"]:
        engine["EngineProcCmd"] = shlex.join(_overlay_command(servers[engine["EngineType"]]))
        # nrp-core's JSON server registers its address before it binds it, having checked the port
        # with a connection: with the examples' fixed ports (9002, 1234...), a run beside another
        # could reach the other's engine. A free port per run keeps runs apart.
        engine["ServerAddress"] = f"127.0.0.1:{_free_port()}"


def _start_by_hand(config: dict, servers: dict[str, EngineServer], folder: pathlib.Path,
                   workdir: pathlib.Path, registration_address: str, env: dict) -> list[subprocess.Popen]:
    """Starts each engine's server at a free address, as a user would (nrp-core's JSON server
    insists on a --regservurl even then: it gets a sink that accepts anything)."""
    processes = []
    for engine in config["EngineConfigs"]:
        name, engine_type = engine["EngineName"], engine["EngineType"]
        address = f"127.0.0.1:{_free_port()}"
        engine["ServerAddress"] = address
        engine["EngineLaunchCommand"] = {"LaunchType": "EmptyLaunchCommand"}
        arguments = [f"--engine={name}", f"--serverurl={address}"]
        if engine_type == "python_json":
            arguments += [f"--regservurl={registration_address}", f"--options={engine.get('ServerOptions', '')}"]
        output = open(workdir / f"engine_{name}.log", "wb")
        with output:
            processes.append(subprocess.Popen([*_overlay_command(servers[engine_type]), *arguments], cwd=folder,
                                              stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                                              start_new_session=True, env=env))
    return processes


def _drive(folder: pathlib.Path, config_file: str, workdir: pathlib.Path, steps: int,
           deadline: float, env: dict) -> tuple[dict, str]:
    """Runs the driver; its RESULT (or why there is none) and its output."""
    address = f"127.0.0.1:{_free_port()}"
    command = [sys.executable, str(DRIVER), address, str(folder), config_file, LOG_FILE, str(steps)]
    driver = subprocess.Popen(command, cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, start_new_session=True, env=env)
    try:
        output, _ = driver.communicate(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        _end(driver)
        output, _ = driver.communicate()
        return {"ok": False, "step": "any", "error": "the run did not finish in time"}, output.decode(errors="replace")
    finally:
        _end(driver)
    text = output.decode(errors="replace")
    for line in reversed(text.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):]), text
    return {"ok": False, "step": "any", "error": f"the driver exited with status {driver.returncode}"}, text


def _collect_logs(folder: pathlib.Path, workdir: pathlib.Path, driver_log: str) -> str:
    parts = [f"== driver\n{driver_log}"]
    for path in [folder / LOG_FILE, *sorted(workdir.glob("engine_*.log"))]:
        if path.is_file():
            parts.append(f"== {path.name}\n{path.read_text(errors='replace')}")
    return "\n".join(parts)


def _judge(outcome: dict, log: str, experiment_name: str, config_file: str, started_by: str) -> RealEnginesResult:
    what = f"{experiment_name}/{config_file} with nrp-core's engine servers started by {started_by}"
    if not outcome.get("ok"):
        return RealEnginesResult(False, f"{what}: {outcome.get('step')} failed: {outcome.get('error')}", log)
    if TRACEBACK in log:
        return RealEnginesResult(False, f"{what}: a log holds a Python traceback", log)
    evidence = EVIDENCE.get(experiment_name)
    if evidence is not None and not evidence.search(log):
        return RealEnginesResult(False, f"{what}: no log shows data arriving (looked for {evidence.pattern!r})", log)
    checked = "; the logs show data arriving" if evidence is not None else ""
    return RealEnginesResult(True, f"{what}: initialize, run_loop, reset, run_loop, shutdown succeeded with no "
                                   f"traceback{checked}", log)


def _registration_sink():
    from engines.nrpcoresim.protocols.registration import RegistrationServer

    return RegistrationServer("127.0.0.1:0")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _end(process: subprocess.Popen, grace_s: float = 5.0) -> None:
    """Ends the process and everything in its session (gunicorn's workers, NRPCoreSim and engines)."""
    if process.poll() is None:
        _signal_session(process, signal.SIGTERM)
        try:
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            pass
    _signal_session(process, signal.SIGKILL)
    process.wait()


def _signal_session(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except (ProcessLookupError, PermissionError):
        pass
