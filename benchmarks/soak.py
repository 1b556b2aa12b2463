"""Soak of the server extension: launch/start/stop cycles of tf_exchange through a real
`jupyter server` process (embedded broker, real kernels, NRPCoreSim and engines), with what the
server holds measured before and after: its child processes, NRPCoreSim and engine processes
anywhere, kernels (GET /api/kernels), the listening ports of its process tree, its open file
descriptors and the simulation directories. Every other cycle runs to `completed` before it is
stopped. Exits 1 if anything is left beyond the baseline.

    .venv/bin/python benchmarks/soak.py [--cycles 200]
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import sys
import tempfile
import time
import uuid

REPO = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.reliability.soak import soak, start_server  # noqa: E402 (needs the repository on the path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=200, help="cycles after the warm-up one (default 200)")
    arguments = parser.parse_args()

    marker = uuid.uuid4().hex
    work = pathlib.Path(tempfile.mkdtemp(prefix="nrp-soak-"))
    server, simulations_dir = start_server(work, marker)
    began = time.monotonic()

    def progress(index: int) -> None:
        if (index + 1) % 20 == 0:
            print(f"  {index + 1} cycles, {time.monotonic() - began:.0f} s", flush=True)

    try:
        result = soak(server, marker, simulations_dir, arguments.cycles, progress=progress)
    except AssertionError:
        # The server's log tells why a cycle failed: keep it.
        print(f"a cycle failed after {time.monotonic() - began:.0f} s; the server's log: {server.log_path}")
        raise
    finally:
        server.stop_all_simulations()
        server.stop()
    print(result.report())
    shutil.rmtree(work, ignore_errors=True)
    return 1 if result.left else 0


if __name__ == "__main__":
    sys.exit(main())
