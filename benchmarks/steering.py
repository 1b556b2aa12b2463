"""Steering latency, from one run against a real `jupyter server` process (embedded broker, real
kernels, NRPCoreSim and an engine process): the time from a steering PUT to the step that applies
it, in loop steps and in ms, beside the loop's own step time measured in the same run.

The engine stamps the wall-clock time and simulation time of every step it runs into a file. For
each PUT (sent at a random phase of the loop), the step that applied it is the one at the
`simulationTime` the answer names; its stamp minus the PUT's send time is the latency to the step
(ms), and the steps the engine started between the PUT and that step are the latency in steps.
The PUT's own round trip (until the server has heard back that it was applied) is printed too.
Two main scripts: `nrp.run_loop(1)` per step, and one long `nrp.run_loop(N)` call (the script's
single call must not delay steering).

Target: applied at the next step boundary, so at most 1 step (+ the kernel's and NRPCoreSim's hops).

    .venv/bin/python benchmarks/steering.py [--puts 40] [--step-ms 10]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import random
import shutil
import statistics
import tempfile
import time

from control_latency import Server

STAMPING_ENGINE = '''
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._stamps = open("steps.txt", "a", buffering=1)
        self._registerDataPack("command")
        self._setDataPack("command", {"gain": 0})

    def runLoop(self, timestep_ns):
        # The step's start in simulation time: the engine's clock has already moved to its end.
        self._stamps.write(f"{time.time()} {self._time_ns - timestep_ns}\\n")
        time.sleep(SLEEP_S)
'''
SCRIPTS = {
    "run_loop(1) per step": "while True:\n    nrp.run_loop(1)\n",
    "one long run_loop(N)": "nrp.run_loop(LONG)\n",
}


def experiment(root: pathlib.Path, name: str, script: str, step_s: float) -> None:
    folder = root / "experiments" / name
    folder.mkdir(parents=True)
    # The engine sleeps most of its step so that the loop runs near real time and PUTs land mid-run.
    (folder / "engine.py").write_text(STAMPING_ENGINE.replace("SLEEP_S", repr(step_s * 0.8)))
    (folder / "main_script.py").write_text(script.replace("LONG", str(int(3600 / step_s) - 1)))
    config = {"SimulationName": name, "SimulationTimeout": 3600, "SimulationTimestep": step_s,
              "EngineConfigs": [{"EngineType": "python_json", "EngineName": "probe", "PythonFileName": "engine.py",
                                 "EngineTimestep": step_s}]}
    (folder / "simulation_config.json").write_text(json.dumps(config))


def stamps(path: pathlib.Path) -> list[tuple[float, int]]:
    return [(float(wall), int(sim_ns)) for wall, sim_ns in (line.split() for line in path.read_text().splitlines()
                                                            if line.strip())]


def measure(server: Server, work: pathlib.Path, name: str, puts: int, step_s: float) -> dict:
    simulation_id = server.call("POST", "simulation", body={"experimentID": name})["simulationID"]
    server.state(simulation_id, "started")
    folder = next((work / "simulations").glob(f"nrp.{simulation_id}.*"))
    time.sleep(1.0)  # warm-up
    sent = []
    for index in range(puts):
        time.sleep(random.uniform(0.05, 0.05 + 3 * step_s))  # a random phase of the loop
        began = time.time()
        answer = server.call("PUT", "simulation", str(simulation_id), "datapacks", "probe", "command",
                             body={"value": {"gain": index}})
        sent.append((began, time.time() - began, answer))
    time.sleep(0.2)
    runs = stamps(folder / "steps.txt")
    server.state(simulation_id, "stopped")
    step_ms = statistics.median(later[0] - earlier[0] for earlier, later in zip(runs, runs[1:])) * 1e3
    to_step_ms, in_steps, round_trip_ms = [], [], []
    for began, round_trip, answer in sent:
        if answer.get("status") != "applied":
            raise SystemExit(f"a steering was not applied in time: {answer}")
        applied_ns = round(answer["simulationTime"] * 1e9)
        applied_at = next(wall for wall, sim_ns in runs if sim_ns == applied_ns)
        started_before = [index for index, (wall, _) in enumerate(runs) if wall <= began]
        applied_index = next(index for index, (_, sim_ns) in enumerate(runs) if sim_ns == applied_ns)
        to_step_ms.append((applied_at - began) * 1e3)
        in_steps.append(applied_index - (started_before[-1] if started_before else 0))
        round_trip_ms.append(round_trip * 1e3)
    return {"step_ms": step_ms, "to_step_ms": to_step_ms, "in_steps": in_steps, "round_trip_ms": round_trip_ms}


def describe(values: list[float]) -> str:
    ordered = sorted(values)
    return (f"median {statistics.median(ordered):6.1f}  p90 {ordered[int(0.9 * (len(ordered) - 1))]:6.1f}  "
            f"max {ordered[-1]:6.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--puts", type=int, default=40)
    parser.add_argument("--step-ms", type=float, default=10.0)
    options = parser.parse_args()
    step_s = options.step_ms / 1e3
    work = pathlib.Path(tempfile.mkdtemp(prefix="nrp-steering-"))
    names = {}
    for index, (label, script) in enumerate(SCRIPTS.items()):
        names[label] = f"steering_{index}"
        experiment(work / "root", names[label], script, step_s)
    server = Server(work)
    try:
        for label, name in names.items():
            result = measure(server, work, name, options.puts, step_s)
            print(f"{label}: loop step {result['step_ms']:.1f} ms (median, same run), {options.puts} PUTs")
            print(f"  PUT -> the step that applies it (ms):     {describe(result['to_step_ms'])}")
            print(f"  PUT -> the step that applies it (steps):  {describe(result['in_steps'])}")
            print(f"  PUT round trip, answered once applied (ms): {describe(result['round_trip_ms'])}")
    finally:
        server.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
