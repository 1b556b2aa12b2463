"""Experiment kernels on a Jupyter Kernel Gateway against local kernels, measured in the same run.

Two real servers share one experiment storage: one starts kernels itself, the other on a
`jupyter kernelgateway` process on loopback (`--gateway-url`). Rounds alternate between them, so
that load from elsewhere on the machine falls on both alike. For tf_exchange (100 steps) it times

  - launch: POST /simulation until it answers `paused` (kernel started, NRPCoreSim and the engines
    initialised);
  - full run: from that POST through `started`, the script's end (`completed`, polled every 20 ms)
    and `stopped` answered;
  - stop: PUT `stopped` until it answers,

and prints medians and the gateway/local ratios.

    .venv/bin/python benchmarks/gateway.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import statistics
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.gateway.gateway import KernelGateway, gateway_server  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

EXPERIMENT = "tf_exchange"
POLL_S = 0.02


def one_run(server: LiveServer) -> dict[str, float]:
    began = time.perf_counter()
    code, body = server.call("POST", "simulation", body={"experimentID": EXPERIMENT})
    if code != 201:
        raise SystemExit(f"launch failed ({code}): {body}; see {server.log_path}")
    launched = time.perf_counter()
    sid = str(body["simulationID"])
    server.call("PUT", "simulation", sid, "state", body={"state": "started"})
    while server.call("GET", "simulation", sid, "state")[1]["state"] != "completed":
        time.sleep(POLL_S)
    stopping = time.perf_counter()
    code, body = server.call("PUT", "simulation", sid, "state", body={"state": "stopped"})
    if code != 200:
        raise SystemExit(f"stop failed ({code}): {body}; see {server.log_path}")
    ended = time.perf_counter()
    return {"launch": launched - began, "full run": ended - began, "stop": ended - stopping}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="nrp-gateway-bench-"))
    root = work / "root"
    shutil.copytree(REPO / "experiments" / EXPERIMENT, root / "experiments" / EXPERIMENT,
                    ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("local", "gateway"):
        (work / name).mkdir()
    gateway = KernelGateway(work / "gateway").start()
    servers = {"local": LiveServer(root, work / "local").start(),
               "gateway": gateway_server(root, work / "gateway", gateway.url).start()}
    times: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
    try:
        for name, server in servers.items():
            one_run(server)  # warm-up: imports and file caches, not counted
        for _ in range(options.repeat):
            for name, server in servers.items():
                times[name].append(one_run(server))
    finally:
        for server in servers.values():
            server.stop()
        gateway.stop()
    print(f"{EXPERIMENT}, {options.repeat} runs each (medians, seconds)")
    print(f"{'':10} {'local':>8} {'gateway':>8} {'ratio':>7}")
    for measure in ("launch", "full run", "stop"):
        local = statistics.median(run[measure] for run in times["local"])
        remote = statistics.median(run[measure] for run in times["gateway"])
        print(f"{measure:10} {local:8.3f} {remote:8.3f} {remote / local:7.2f}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
