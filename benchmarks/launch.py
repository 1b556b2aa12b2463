"""Launch latency with and without warm kernels (NrpJupyterApp.warm_kernels), from one run against two
real `jupyter server` processes side by side (embedded brokers, real kernels, NRPCoreSim and engines):
POST /simulation of tf_exchange until it answers `paused`, rounds interleaved, each launch stopped
before the next; the pooled server's next launch waits until its pool is full again, as a launch
that comes after the pool has refilled (a burst of launches beyond the pool's size takes cold
kernels). The baseline is a bare kernel start (jupyter_client, until the kernel answers) measured
in the same run.

Target (issue 17): POST -> paused at most 0.3 s with a warm pool.

    .venv/bin/python benchmarks/launch.py [--repeat 7] [--warm-kernels 1]
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

from control_latency import REPO, TOKEN, Server, bare_kernel_start


def kernel_count(server: Server) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{server.port}/api/kernels",
                                     headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return len(json.loads(response.read()))


def wait_for_kernels(server: Server, count: int, within_s: float = 60.0) -> None:
    deadline = time.monotonic() + within_s
    while kernel_count(server) != count:
        if time.monotonic() > deadline:
            raise SystemExit(f"the server did not settle at {count} kernels within {within_s:.0f} s")
        time.sleep(0.05)


def timed_launch(server: Server) -> float:
    started = time.perf_counter()
    simulation = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    elapsed = time.perf_counter() - started
    if simulation["state"] != "paused":
        raise SystemExit(f"the launch answered {simulation['state']!r}, not 'paused'")
    server.state(simulation["simulationID"], "stopped")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--warm-kernels", type=int, default=1)
    options = parser.parse_args()
    works = [pathlib.Path(tempfile.mkdtemp(prefix=f"nrp-launch-{name}-")) for name in ("cold", "warm")]
    for work in works:
        shutil.copytree(REPO / "experiments" / "tf_exchange", work / "root" / "experiments" / "tf_exchange",
                        ignore=shutil.ignore_patterns("__pycache__", "*.log*", "*.zip"))
    cold = Server(works[0])
    warm = Server(works[1], f"--NrpJupyterApp.warm_kernels={options.warm_kernels}")
    try:
        # The first launch of each server is shown apart: it pays the server's once-only costs.
        first_cold = timed_launch(cold)
        wait_for_kernels(warm, options.warm_kernels)
        first_warm = timed_launch(warm)
        kernels, cold_launches, warm_launches = [], [], []
        for _ in range(options.repeat):
            # Each measurement on a quiet pair: no refill under way in the pooled server.
            wait_for_kernels(warm, options.warm_kernels)
            kernels.append(bare_kernel_start())
            wait_for_kernels(cold, 0)
            cold_launches.append(timed_launch(cold))
            warm_launches.append(timed_launch(warm))
    finally:
        for server in (cold, warm):
            server.close()
        for work in works:
            shutil.rmtree(work, ignore_errors=True)

    kernel = statistics.median(kernels)
    print(f"medians of {options.repeat} interleaved rounds; bare kernel start {kernel:5.2f} s "
          f"(min {min(kernels):.2f}, max {max(kernels):.2f})")
    for name, launches in (("cold kernel", cold_launches), (f"warm pool ({options.warm_kernels})", warm_launches)):
        launch = statistics.median(launches)
        print(f"launch (POST -> paused), {name:14s} {launch:6.3f} s (min {min(launches):.3f}, max "
              f"{max(launches):.3f})   {launch / kernel:5.2f} x bare kernel start")
    print(f"first launch of the server: cold {first_cold:.3f} s, warm pool {first_warm:.3f} s")
    ratio = statistics.median(warm_launches) / statistics.median(cold_launches)
    print(f"warm / cold                              {ratio:6.2f}   target: warm <= 0.300 s")


if __name__ == "__main__":
    main()
