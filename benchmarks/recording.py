"""What recording every run (NrpJupyterApp.record_runs) costs the loop, from one run against two real
`jupyter server` processes side by side, one recording and one not (embedded brokers, real kernels,
NRPCoreSim and engines).

The experiment is tf_exchange_datatransfer run for `--steps` steps of 10 ms: each step streams two
datapacks through the datatransfer engine to the server's broker, which the recorder writes with
the status messages. The main script times its own loop (`nrp.run_loop()` per step, as the shipped
scripts do) and logs steps/s; rounds alternate between the servers after a warm-up round each, and
the medians are compared. On a busy machine the loop rates vary by tens of percent from run to run,
so the CPU time the server process itself spends on each run, from launch to stop (the recorder's
threads included, the kernel and engines not), is printed beside them: what recording adds there
does not depend on the load. The recording's size and message count are printed too.

Target (issue 13): recording costs at most a few percent of the loop rate.

    .venv/bin/python benchmarks/recording.py [--steps 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import statistics
import tempfile
import time
import urllib.request

from control_latency import REPO, TOKEN, Server

TIMED_SCRIPT = """
import json
import time

steps = 0
began = time.perf_counter()
try:
    while True:
        nrp.run_loop()
        steps += 1
except NRPSimulationTimeout:
    file_logger.info("Result: %s", json.dumps({"steps": steps, "seconds": time.perf_counter() - began}))
"""


def experiment(root: pathlib.Path, steps: int) -> None:
    target = root / "experiments" / "recorded"
    shutil.copytree(REPO / "experiments" / "tf_exchange_datatransfer", target,
                    ignore=shutil.ignore_patterns("*.log*", "*.zip", "*.mcap", "data"))
    config = json.loads((target / "simulation_config.json").read_text())
    config["SimulationTimeout"] = steps * config["SimulationTimestep"]
    (target / "simulation_config.json").write_text(json.dumps(config))
    (target / "main_script.py").write_text(TIMED_SCRIPT)


def server_cpu_s(server: Server) -> float:
    import psutil

    times = psutil.Process(server.process.pid).cpu_times()
    return times.user + times.system


def loop_rate(server: Server) -> tuple[float, int, float]:
    """Steps/s of one run, its simulation id, and the server's CPU seconds from launch to stop."""
    cpu_before = server_cpu_s(server)
    simulation = server.call("POST", "simulation", body={"experimentID": "recorded"})
    sid = simulation["simulationID"]
    server.state(sid, "started")
    deadline = time.monotonic() + 600
    while server.call("GET", "simulation", str(sid), "state")["state"] != "completed":
        if time.monotonic() > deadline:
            raise SystemExit(f"simulation {sid} did not complete")
        time.sleep(0.1)
    logs = server.call("GET", "simulation", str(sid), "logs")["files"]
    server.state(sid, "stopped")
    cpu = server_cpu_s(server) - cpu_before
    for entry in logs:
        for line in entry["content"].splitlines():
            if "Result: " in line:
                result = json.loads(line.split("Result: ", 1)[1])
                return result["steps"] / result["seconds"], sid, cpu
    raise SystemExit(f"simulation {sid} logged no result")


def recording_size(server: Server, simulation_id: int) -> tuple[int, int]:
    """Bytes and messages of a run's recording."""
    import io

    from mcap.reader import make_reader

    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/nrp/simulation/{simulation_id}/recording",
                                     headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        data = response.read()
    summary = make_reader(io.BytesIO(data)).get_summary()
    return len(data), summary.statistics.message_count if summary and summary.statistics else -1


def recorder_cost(count: int) -> tuple[float, float]:
    """In this process, the recorder alone: microseconds per datapack spent in `tap()` (paho's thread
    in the server), and per datapack from the first tap to the archived file (the writer thread)."""
    from nrp_jupyter.server.lifecycle import SimulationState
    from nrp_jupyter.server.models import Simulation
    from nrp_jupyter.server.recording.recorder import RunRecorder
    from nrp_jupyter.server.storage import ExperimentStorage
    from nrp_protobuf import engine_grpc_pb2, wrappers_pb2

    with tempfile.TemporaryDirectory(prefix="nrp-bench-recorder-") as folder:
        root = pathlib.Path(folder)
        (root / "experiments" / "x").mkdir(parents=True)
        (root / "sim").mkdir()
        record = Simulation(simulation_id=1, experiment_id="x", state=SimulationState.STARTED,
                            simulation_dir=str(root / "sim"))
        recorder = RunRecorder(ExperimentStorage(root / "experiments"), lambda sid: record)
        recorder.start()
        recorder.listen(1, "nrp_simulation/1/status", {"simulationTime": 0.0, "realTime": 0.0, "state": "started"})
        envelope = engine_grpc_pb2.DataPackMessage()
        envelope.data.Pack(wrappers_pb2.DoubleValue(value=1.5))
        payload = envelope.SerializeToString()
        began = time.perf_counter()
        for _ in range(count):
            recorder.tap(1, "engine_time", "", payload)
        tapped = time.perf_counter()
        record.state = SimulationState.STOPPED
        recorder.listen(1, "nrp_simulation/1/status", {"simulationTime": 1.0, "realTime": 1.0, "state": "stopped"})
        import asyncio

        archive = asyncio.run(recorder.archived(1))
        done = time.perf_counter()
        recorder.stop()
        if archive is None:
            raise SystemExit("the recorder archived nothing")
    return (tapped - began) / count * 1e6, (done - began) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nrp-bench-recording-") as folder:
        servers = {}
        try:
            for name, switch in (("on", "True"), ("off", "False")):
                work = pathlib.Path(folder) / name
                (work / "root").mkdir(parents=True)
                experiment(work / "root", args.steps)
                servers[name] = Server(work, f"--NrpJupyterApp.record_runs={switch}")
            for server in servers.values():
                loop_rate(server)  # warm-up: first imports, page cache
            rates = {name: [] for name in servers}
            cpus = {name: [] for name in servers}
            last_on = None
            for _ in range(args.repeat):
                for name, server in servers.items():
                    rate, sid, cpu = loop_rate(server)
                    rates[name].append(rate)
                    cpus[name].append(cpu)
                    if name == "on":
                        last_on = sid
            size, messages = recording_size(servers["on"], last_on)
        finally:
            for server in servers.values():
                server.close()
    tap_us, total_us = recorder_cost(100_000)
    on, off = statistics.median(rates["on"]), statistics.median(rates["off"])
    print(f"tf_exchange_datatransfer, {args.steps} steps, median of {args.repeat} interleaved runs")
    for name in ("off", "on"):
        print(f"  recording {name:3}: {statistics.median(rates[name]):7.1f} steps/s   "
              f"({', '.join(f'{rate:.1f}' for rate in rates[name])})")
    print(f"  on / off: {on / off:.3f} ({(on / off - 1) * 100:+.1f} %)")
    cpu_on, cpu_off = statistics.median(cpus["on"]), statistics.median(cpus["off"])
    print(f"  server CPU per run, launch to stop: off {cpu_off:.2f} s, on {cpu_on:.2f} s "
          f"({(cpu_on - cpu_off) / max(messages, 1) * 1e6:+.0f} µs per recorded message)")
    print(f"  the recorder alone, 100000 datapacks: {tap_us:.2f} µs each in tap(), {total_us:.1f} µs each "
          f"until archived")
    print(f"  a recording: {messages} messages, {size / 1024:.1f} KiB ({size / max(messages, 1):.1f} B/message)")


if __name__ == "__main__":
    main()
