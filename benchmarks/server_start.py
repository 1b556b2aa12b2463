"""How long a Jupyter server with nrp_jupyter takes to answer, and `jupyter nrp run tf_exchange` end to end.

Three ways to start the server, each until GET /nrp/version answers (the embedded broker listening,
the records open), interleaved over rounds in one run:
- `jupyter server`: the generic server, every installed extension (JupyterLab, terminals, language
  servers) and jsonschema's IRI grammar (rfc3987_syntax) loaded: the baseline;
- `jupyter nrp`: the NRP server alone, without the grammar (nrp_jupyter/cli/main.py);
- `python -c pass`: the interpreter's own start, the floor.
Then `jupyter nrp run tf_exchange` (private server, launch, 1 s of simulation, stop), with the share
of it that is the server's start.

Target (issue 17): `jupyter nrp run tf_exchange` within 2 s on a 2-core machine.

    .venv/bin/python benchmarks/server_start.py [--repeat 5]
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
import time
import urllib.error
import urllib.request

from _core import free_port

REPO = pathlib.Path(__file__).resolve().parent.parent
TOKEN = "server-start-benchmark"


def answering_after(module_and_args: list[str], root: pathlib.Path, work: pathlib.Path) -> float:
    """Seconds from the server's process start until /nrp/version answers; the server is then stopped."""
    port = free_port()
    command = [sys.executable, "-m", *module_and_args, f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1",
               f"--IdentityProvider.token={TOKEN}", "--ServerApp.open_browser=False", "--allow-root",
               f"--ServerApp.root_dir={root}", "--NrpJupyterApp.embedded_broker_port=0",
               "--NrpJupyterApp.embedded_broker_websockets_port=0",
               f"--NrpJupyterApp.database_path={work / 'nrp.sqlite'}"]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(work / "runtime")}
    request = urllib.request.Request(f"http://127.0.0.1:{port}/nrp/version",
                                     headers={"Authorization": f"token {TOKEN}"})
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    json.loads(response.read())
                return time.perf_counter() - started
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None:
                    raise SystemExit(f"{' '.join(module_and_args)} exited with status {process.returncode}")
                time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(timeout=30)


def interpreter_start() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - started


def headless_run(root: pathlib.Path) -> float:
    started = time.perf_counter()
    jupyter = pathlib.Path(sys.executable).with_name("jupyter")
    subprocess.run([str(jupyter), "nrp", "run", "tf_exchange"], cwd=root, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="nrp-server-start-"))
    try:
        root = work / "root"
        shutil.copytree(REPO / "experiments" / "tf_exchange", root / "experiments" / "tf_exchange",
                        ignore=shutil.ignore_patterns("*.zip", "*.mcap"))
        ways = {"jupyter server (baseline)": ["jupyter_server"], "jupyter nrp": ["nrp_jupyter.cli", "serve"]}
        times: dict[str, list[float]] = {name: [] for name in [*ways, "python -c pass", "jupyter nrp run"]}
        for _ in range(options.repeat):
            for name, module_and_args in ways.items():
                times[name].append(answering_after(module_and_args, root, work))
            times["python -c pass"].append(interpreter_start())
            times["jupyter nrp run"].append(headless_run(root))
        medians = {name: statistics.median(values) for name, values in times.items()}
        baseline = medians["jupyter server (baseline)"]
        print(f"medians of {options.repeat}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(f"{'':34} {'seconds':>8} {'vs baseline':>12}")
        for name, median in medians.items():
            print(f"{name:34} {median:8.2f} {median / baseline:11.2f}x")
        share = medians["jupyter nrp"] / medians["jupyter nrp run"]
        print(f"server start as a share of `jupyter nrp run`: {share:.0%}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
