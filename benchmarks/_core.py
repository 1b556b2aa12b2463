"""What several benchmarks share: a free port, and a timed loop of NRPCoreSim driven over gRPC."""

from __future__ import annotations

import pathlib
import socket
import time

# Steps run before the clock starts: connections warm, first-step costs paid.
WARMUP_STEPS = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loop_seconds(experiment: pathlib.Path, config: str, steps: int, log_path: pathlib.Path, *, args: str = "",
                 per_request: int | None = None, warmup: int = WARMUP_STEPS) -> float:
    """Wall time of `steps` steps of `experiment` through NRPCoreSim in server mode, after a warm-up;
    one `run_loop(steps)` request, or requests of `per_request` steps (as NRP's main script makes)."""
    from engines.nrpcore_client import NrpCore

    # Engines print; their output goes to `log_path`, not to the benchmark's table.
    client = NrpCore(f"localhost:{free_port()}", experiment_folder=str(experiment), config_file=config,
                     args=args, log_output=str(log_path))
    try:
        client.initialize()
        client.run_loop(warmup)
        started = time.perf_counter()
        if per_request is None:
            client.run_loop(steps)
        else:
            for _ in range(steps // per_request):
                client.run_loop(per_request)
        return time.perf_counter() - started
    finally:
        client.shutdown()


def steps_per_s(experiment: pathlib.Path, config: str, steps: int, log_path: pathlib.Path, *, args: str = "") -> float:
    return steps / loop_seconds(experiment, config, steps, log_path, args=args)
