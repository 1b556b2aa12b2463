"""Loop rate of tf_exchange_remote with engines started separately (EmptyLaunchCommand) against the
same experiment with engines NRPCoreSim launches itself (BasicFork), in one run.

Both variants run the same two engines (python_json and python_grpc) through NRPCoreSim in server
mode, driven by the NrpCore client with run_loop(steps) after a warm-up. The separately started
engines listen on loopback and, when this machine has one, on the address of another interface
(still this machine: the figure is the cost of the launch type and the address, not of a network).
Variants alternate within each repetition; the table gives medians and the ratio to launched.

    .venv/bin/python benchmarks/remote_engines.py [--steps 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import psutil
from _core import loop_seconds

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPERIMENT = REPO / "experiments" / "tf_exchange_remote"
BIN_DIR = pathlib.Path(sys.executable).parent
COMMANDS = {"python_json": "nrp-python-json-engine", "python_grpc": "nrp-python-grpc-engine"}


def interface_address() -> str | None:
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    return None


def start_engine(folder: pathlib.Path, engine: dict, host: str,
                 log: pathlib.Path) -> tuple[subprocess.Popen, str]:
    """The engine as a user starts it by hand; its process and the address it serves on."""
    command = [str(BIN_DIR / COMMANDS[engine["EngineType"]]), f"--engine={engine['EngineName']}",
               f"--serverurl={host}:0"]
    err_path = log.with_suffix(f".{engine['EngineName']}.err")
    with open(log, "a") as out, open(err_path, "w") as err:
        process = subprocess.Popen(command, cwd=folder, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (match := re.search(r"serving on (\S+)", err_path.read_text())):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"engine {engine['EngineName']} did not start:\n{err_path.read_text()}")
        time.sleep(0.05)
    return process, match.group(1)


def write_config(folder: pathlib.Path, name: str, addresses: dict[str, str] | None) -> str:
    """The experiment's config, its engines reached at `addresses`, or launched by NRPCoreSim if None."""
    config = json.loads((folder / "simulation_config.json").read_text())
    config["SimulationTimeout"] = 0
    for engine in config["EngineConfigs"]:
        if addresses is None:
            engine["EngineLaunchCommand"] = {"LaunchType": "BasicFork"}
            del engine["ServerAddress"]
        else:
            engine["ServerAddress"] = addresses[engine["EngineName"]]
    (folder / name).write_text(json.dumps(config, indent=4))
    return name


def steps_per_s(folder: pathlib.Path, host: str | None, steps: int, log: pathlib.Path) -> float:
    engines = json.loads((folder / "simulation_config.json").read_text())["EngineConfigs"]
    processes = []
    try:
        if host is None:
            config = write_config(folder, "launched.json", None)
        else:
            started = {engine["EngineName"]: start_engine(folder, engine, host, log) for engine in engines}
            processes = [process for process, _ in started.values()]
            config = write_config(folder, f"remote_{host}.json",
                                  {name: address for name, (_, address) in started.items()})
        rate = steps / loop_seconds(folder, config, steps, log)
        for process in processes:
            # Engines started by hand exit after the simulation's shutdown request.
            process.wait(timeout=10)
        return rate
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    os.environ["PATH"] = f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}"

    variants: dict[str, str | None] = {"launched (BasicFork)": None,
                                       "started by hand, 127.0.0.1": "127.0.0.1"}
    address = interface_address()
    if address is not None:
        variants[f"started by hand, {address}"] = address
    rates: dict[str, list[float]] = {name: [] for name in variants}
    with tempfile.TemporaryDirectory() as scratch:
        folder = pathlib.Path(scratch) / "tf_exchange_remote"
        shutil.copytree(EXPERIMENT, folder, ignore=shutil.ignore_patterns("__pycache__"))
        log = pathlib.Path(scratch) / "engines.log"
        for _ in range(options.repeat):
            for name, host in variants.items():
                rates[name].append(steps_per_s(folder, host, options.steps, log))

    baseline = statistics.median(rates["launched (BasicFork)"])
    print(f"tf_exchange_remote (python_json + python_grpc), {options.steps} steps, "
          f"median of {options.repeat}, {os.cpu_count()} cores")
    print(f"{'engines':<36} {'steps/s':>9} {'runs':>24} {'ratio':>7}")
    for name, values in rates.items():
        median = statistics.median(values)
        runs = " ".join(f"{value:.0f}" for value in values)
        print(f"{name:<36} {median:>9.0f} {runs:>24} {median / baseline:>7.2f}")
    if address is None:
        print("this machine has no interface besides loopback: no run on another address")


if __name__ == "__main__":
    main()
