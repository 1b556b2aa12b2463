"""Steps per second of the nest_json engine through NRPCoreSim, beside bare NEST, from one run.

For each case, in this run:
  - through NRPCoreSim: a simulation with the nest_json engine alone (plus the case's transceiver
    function), driven by the NrpCore client with run_loop(steps) after a warm-up;
  - bare: the same brain file and timestep in one Python process, `nest.Simulate(step)` in a loop,
    and, for a case with a TF, also reading and setting the same NEST status the TF asks for;
and prints steps/s of each and their ratio (the share of a step that is NEST's own work).

    .venv/bin/python benchmarks/nest_engine.py [--steps 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass

from _core import loop_seconds

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPERIMENTS = REPO / "experiments"
WARM_UP_STEPS = 50


@dataclass(frozen=True)
class Case:
    name: str
    brain: pathlib.Path
    timestep_s: float
    tf: pathlib.Path | None = None
    # What the TF does to NEST each step, repeated by the bare loop: datapacks read, datapacks set.
    reads: tuple[str, ...] = ()
    writes: tuple[tuple[str, object], ...] = ()


CASES = [
    Case("nest_simple brain, no TF", EXPERIMENTS / "nest_simple" / "nest_simple.py", 0.01),
    Case("nest_simple with its TF", EXPERIMENTS / "nest_simple" / "nest_simple.py", 0.01,
         tf=EXPERIMENTS / "nest_simple" / "tf_1.py", reads=("voltage",),
         writes=(("noise", [{"rate": 500.0}, {"rate": 700.0}]),)),
    Case("braitenberg brain, no TF", EXPERIMENTS / "braitenberg_mujoco" / "brain.py", 0.02),
]

# The bare loop runs in a fresh interpreter (NEST's kernel is one per process) and prints its time.
BARE_LOOP = """
import json, os, sys, time
os.environ["PYNEST_QUIET"] = "1"
sys.path.insert(0, {repo!r})
from engines.servers.nest.brain_script import _import_nest
from engines.servers.nest.datapacks import BrainDataPacks, collecting
from engines.servers.nest.status import read_status, write_status
nest = _import_nest()
os.chdir({directory!r})
registry = BrainDataPacks()
with collecting(registry):
    exec(compile(open({brain!r}).read(), {brain!r}, "exec"), {{"__name__": "__main__"}})
reads, writes = {reads!r}, {writes!r}
step_ms = {step_ms!r}

def step():
    for name in reads:
        json.dumps(read_status(registry[name]))
    for name, data in writes:
        write_status(registry[name], data)
    nest.Simulate(step_ms)

for _ in range({warm_up}):
    step()
started = time.perf_counter()
for _ in range({steps}):
    step()
print(time.perf_counter() - started)
"""


def experiment_folder(case: Case, directory: pathlib.Path) -> pathlib.Path:
    """A one-engine experiment of the case in `directory`."""
    shutil.copy(case.brain, directory / case.brain.name)
    functions = []
    if case.tf is not None:
        shutil.copy(case.tf, directory / case.tf.name)
        functions.append({"Name": "transceiver_function", "FileName": case.tf.name})
    config = {"SimulationName": "nest_engine_benchmark", "SimulationTimeout": 0,
              "EngineConfigs": [{"EngineType": "nest_json", "EngineName": "nest",
                                 "NestInitFileName": case.brain.name, "NestRNGSeed": 1,
                                 "EngineTimestep": case.timestep_s}],
              "DataPackProcessingFunctions": functions}
    (directory / "simulation_config.json").write_text(json.dumps(config))
    return directory


def through_nrpcoresim(case: Case, steps: int) -> float:
    with tempfile.TemporaryDirectory() as directory:
        folder = experiment_folder(case, pathlib.Path(directory))
        return start_quietly(lambda: loop_seconds(folder, "simulation_config.json", steps, folder / "nrpcore.log",
                                                  warmup=WARM_UP_STEPS))


def start_quietly(start):
    """Run `start` with this process's stdout on /dev/null, so that the NRPCoreSim it spawns inherits
    that: the TF prints at every step, and its output belongs in no table."""
    sys.stdout.flush()
    saved = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return start()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def bare(case: Case, steps: int) -> float:
    code = BARE_LOOP.format(repo=str(REPO), directory=str(case.brain.parent), brain=str(case.brain),
                            reads=case.reads, writes=case.writes, step_ms=case.timestep_s * 1000.0,
                            warm_up=WARM_UP_STEPS, steps=steps)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env=dict(os.environ, PYNEST_QUIET="1"))
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; medians are printed")
    options = parser.parse_args()
    steps = options.steps

    print(f"{'case':28} {'step ms':>7} {'NRPCoreSim steps/s':>18} {'bare NEST steps/s':>17} {'ratio':>6} "
          f"{'overhead ms/step':>16}")
    for case in CASES:
        loop = statistics.median(through_nrpcoresim(case, steps) for _ in range(options.repeat))
        alone = statistics.median(bare(case, steps) for _ in range(options.repeat))
        print(f"{case.name:28} {case.timestep_s * 1000:7.0f} {steps / loop:18.0f} {steps / alone:17.0f} "
              f"{alone / loop:6.2f} {1000 * (loop - alone) / steps:16.3f}")
    print(f"\n{steps} steps after {WARM_UP_STEPS} of warm-up. ratio: NRPCoreSim's rate / bare NEST's "
          f"(1 would be no overhead); bare NEST also reads and sets what the case's TF reads and sets.")


if __name__ == "__main__":
    main()
