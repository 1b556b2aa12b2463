"""How close the FTI loop gets to the network floor, from one run.

Measures, in this run:
  - steps/s of experiments/tf_exchange over gRPC and over JSON/REST, driven through the NrpCore
    client with run_loop(1000) after a warm-up;
  - the floor: the same number of bare round trips (one per step) to a trivial gRPC server and a
    trivial HTTP/1.1 server in another process;
  - launch-to-shutdown wall time of NRPCoreSim standalone for 100 steps;
  - steps/s of the same experiment with both engines inside NRPCoreSim ("LaunchType": "InProcess"),
    no RPC at all, against the loop over RPC measured above;
and prints the ratios. nrp-core 1.4's own figures on this kind of machine (../shared/spec/dependencies.md
section 8) are printed beside them for reference; they are not measured here.

    .venv/bin/python benchmarks/loop_overhead.py [--steps 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from _core import loop_seconds

REPO = pathlib.Path(__file__).resolve().parent.parent
EXPERIMENT = REPO / "experiments" / "tf_exchange"
CONFIGS = {"gRPC": "simulation_config_grpc.json", "JSON/REST": "simulation_config.json"}
# nrp-core 1.4.1 (C++) driven by nrp-client 1.4.0 on tf_exchange, medians (dependencies.md §8).
NRP_CORE_STEPS_PER_S = {"gRPC": 475.0, "JSON/REST": 380.0}
NRP_CORE_STANDALONE_100_STEPS_S = {"gRPC": 3.64, "JSON/REST": 3.9}
# NRPCoreSim's arguments that run both tf_exchange engines in its own process.
IN_PROCESS_ARGS = " ".join(f'-o EngineConfigs.{index}.EngineLaunchCommand={{"LaunchType":"InProcess"}}'
                           for index in range(2))


def start_trivial_server(kind: str) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen([sys.executable, str(REPO / "benchmarks" / "_trivial_servers.py"), kind],
                               stdout=subprocess.PIPE, text=True)
    return process, int(process.stdout.readline())


def grpc_floor(steps: int) -> float:
    import grpc

    from nrp_protobuf import engine_grpc_pb2 as pb
    from nrp_protobuf import engine_grpc_pb2_grpc as pb_grpc

    process, port = start_trivial_server("grpc")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=10)
            stub = pb_grpc.EngineGrpcServiceStub(channel)
            request = pb.RunLoopStepRequest(timeStep=10_000_000)
            for _ in range(200):
                stub.runLoopStep(request)
            started = time.perf_counter()
            for _ in range(steps):
                stub.runLoopStep(request)
            return time.perf_counter() - started
    finally:
        process.kill()
        process.wait()


def http_floor(steps: int) -> float:
    process, port = start_trivial_server("http")
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port)
        connection.connect()
        connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        body = json.dumps({"time_step": 10_000_000}).encode()
        headers = {"Content-Type": "application/json"}

        def round_trip():
            connection.request("POST", "/run_loop", body, headers)
            connection.getresponse().read()

        for _ in range(200):
            round_trip()
        started = time.perf_counter()
        for _ in range(steps):
            round_trip()
        connection.close()
        return time.perf_counter() - started
    finally:
        process.kill()
        process.wait()


def loop_time(config: str, steps: int, log_dir: pathlib.Path, per_request: int | None = None, args: str = "") -> float:
    # The example engines print every step; their output goes to a log file, not to this table.
    return loop_seconds(EXPERIMENT, config, steps, log_dir / f"{config}.log", per_request=per_request, args=args)


def standalone_time(config: str) -> float:
    env = dict(os.environ, PATH=f"{pathlib.Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    started = time.perf_counter()
    subprocess.run([str(pathlib.Path(sys.executable).parent / "NRPCoreSim"), "-c", config],
                   cwd=EXPERIMENT, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement; medians are printed")
    options = parser.parse_args()
    steps = options.steps

    floors = {"gRPC": statistics.median(grpc_floor(steps) for _ in range(options.repeat)),
              "JSON/REST": statistics.median(http_floor(steps) for _ in range(options.repeat))}
    print(f"{'protocol':10} {'steps/s':>8} {'ms/step':>8} {'floor RT/s':>10} {'loop/floor':>10} "
          f"{'vs nrp-core':>11} {'standalone s':>12} {'vs nrp-core':>11}")
    rpc_loops = {}
    for protocol, config in CONFIGS.items():
        with tempfile.TemporaryDirectory() as log_dir:
            loop = statistics.median(loop_time(config, steps, pathlib.Path(log_dir)) for _ in range(options.repeat))
        rpc_loops[protocol] = loop
        standalone = statistics.median(standalone_time(config) for _ in range(options.repeat))
        rate = steps / loop
        print(f"{protocol:10} {rate:8.0f} {1000 * loop / steps:8.3f} {steps / floors[protocol]:10.0f} "
              f"{loop / floors[protocol]:10.2f} {rate / NRP_CORE_STEPS_PER_S[protocol]:10.2f}x "
              f"{standalone:12.2f} {standalone / NRP_CORE_STANDALONE_100_STEPS_S[protocol]:11.2f}")
    with tempfile.TemporaryDirectory() as log_dir:
        for protocol, config in CONFIGS.items():
            loop = statistics.median(loop_time(config, steps, pathlib.Path(log_dir), per_request=1)
                                     for _ in range(options.repeat))
            print(f"{protocol:10} {steps / loop:8.0f} {1000 * loop / steps:8.3f} steps/s with run_loop(1) per "
                  f"request, as NRP's main_script does (one more round trip per step)")
    with tempfile.TemporaryDirectory() as log_dir:
        for protocol, config in CONFIGS.items():
            local = statistics.median(loop_time(config, steps, pathlib.Path(log_dir), args=IN_PROCESS_ARGS)
                                      for _ in range(options.repeat))
            local_single = statistics.median(loop_time(config, steps, pathlib.Path(log_dir), per_request=1,
                                                       args=IN_PROCESS_ARGS) for _ in range(options.repeat))
            print(f"{protocol:10} {steps / local:8.0f} {1000 * local / steps:8.3f} steps/s with the engines in process "
                  f"(LaunchType InProcess): {rpc_loops[protocol] / local:.1f}x the loop over RPC (aim >= 10); "
                  f"{steps / local_single:.0f} steps/s with run_loop(1) per request")
    print(f"\nfloor: {steps} bare round trips (one per step) to a trivial server in another process, "
          f"measured in this run.\nvs nrp-core: loop rate ÷ nrp-core's (aim ≥ 1.5); standalone "
          f"launch-to-shutdown of 100 steps ÷ nrp-core's (aim ≤ 0.33).")


if __name__ == "__main__":
    main()
