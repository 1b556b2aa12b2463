"""Checks that run one example's simulation config unchanged: with our NRPCoreSim standalone, and
through the real nrp-client, which launches our NRPCoreSim in server mode.

Both expect what nrp-core 1.4 does with these examples: the simulation initializes, runs until its
SimulationTimeout (or its status function's done flag) and shuts down cleanly, and no engine prints
a Python traceback on the way.
"""

from __future__ import annotations

import json
import pathlib
import re

from .checks import Check, Outcome
from .examples import SimulationConfig
from .sandbox import Sandbox, free_port

HERE = pathlib.Path(__file__).resolve().parent
TRACEBACK = "Traceback (most recent call last)"
# An error our NRPCoreSim ("[time] [logger] [ERROR] ...") or an engine ("time ERROR [engine] ...")
# logged: a run that ends with status 0 must not have hit one on the way.
ERROR_LOGGED = re.compile(r"^(\[[^]]*\] \[[^]]*\] \[(ERROR|CRITICAL)\]|\S+ \S+ (ERROR|CRITICAL) \[)", re.MULTILINE)
ENDED = re.compile(r"simulation ended at t=\S+ s \((timeout|done)\)")
# nrp-client writes NRPCoreSim's output (engines' included) to this file in the experiment folder.
CLIENT_LOG = ".console_output.log"


def wall_timeout(config: SimulationConfig) -> float:
    # Generous: the examples run faster than real time here, but two share a 2-core machine.
    return 90.0 + 3.0 * config.timeout_s


def standalone_check(config: SimulationConfig) -> Check:
    def run(sandbox: Sandbox) -> Outcome:
        folder = sandbox.copy(config.source, "experiment")
        nrpcoresim = str(sandbox.repo / ".venv" / "bin" / "NRPCoreSim")
        completed = sandbox.run([nrpcoresim, "-c", config.file], cwd=folder, timeout_s=wall_timeout(config))
        if completed.timed_out:
            return Outcome.failed(f"no exit within {wall_timeout(config):.0f}s\n{completed.tail()}")
        problem = traceback_in(completed.output)
        if completed.returncode != 0:
            return Outcome.failed(f"exit status {completed.returncode}: {last_error(completed.output)}"
                                  f"\n{problem or completed.tail()}")
        if problem:
            return Outcome.failed(f"traceback in the engines' output: {problem.splitlines()[-1]}\n{problem}")
        if error := ERROR_LOGGED.search(completed.output):
            return Outcome.failed(f"error logged: {line_at(completed.output, error.start())}")
        if not ENDED.search(completed.output):
            return Outcome.failed(f"exited 0 without reaching its timeout\n{completed.tail()}")
        return left_running(sandbox) or Outcome.passed()

    return Check(name=f"standalone {config.label}", run=run, resources=resources(config),
                 timeout_s=wall_timeout(config) + 30)


def client_check(config: SimulationConfig) -> Check:
    def run(sandbox: Sandbox) -> Outcome:
        python = sandbox.repo / ".venv-nrp-client" / "bin" / "python"
        if not python.exists():
            return Outcome.skipped(f"{python} does not exist (scripts/setup-real-client.sh creates it)")
        folder = sandbox.copy(config.source, "experiment")
        address = f"localhost:{free_port()}"
        # From the sandbox, so that no nrp_protobuf of ours shadows the client's own.
        completed = sandbox.run([str(python), str(HERE / "client_driver.py"), address, str(folder), config.file],
                                cwd=sandbox.folder, timeout_s=wall_timeout(config))
        log_file = folder / CLIENT_LOG
        server_output = log_file.read_text(errors="replace") if log_file.exists() else ""
        result = client_result(completed.output)
        if completed.timed_out:
            return Outcome.failed(f"no answer within {wall_timeout(config):.0f}s (step {result.get('step', '?')})"
                                  f"\n{completed.tail()}\n{tail(server_output)}")
        if result is None or "error" in result:
            what = result.get("error") if result else f"the driver exited {completed.returncode}"
            step = result.get("step") if result else "?"
            return Outcome.failed(f"{step}: {what}\n{traceback_in(server_output) or tail(server_output)}")
        if not (result.get("done") or result.get("timeout")):
            return Outcome.failed(f"run_until_timeout answered neither done nor timeout: {result}")
        problem = traceback_in(server_output)
        if problem:
            return Outcome.failed(f"traceback in NRPCoreSim's log: {problem.splitlines()[-1]}\n{problem}")
        if error := ERROR_LOGGED.search(server_output):
            return Outcome.failed(f"error logged: {line_at(server_output, error.start())}")
        return left_running(sandbox) or Outcome.passed()

    return Check(name=f"client {config.label}", run=run, resources=resources(config),
                 timeout_s=wall_timeout(config) + 30)


def resources(config: SimulationConfig) -> frozenset[str]:
    return frozenset(f"address {address}" for address in config.fixed_addresses)


def left_running(sandbox: Sandbox) -> Outcome | None:
    left = sandbox.leftovers()
    if left:
        return Outcome.failed("processes left running after the end (killed now): " + "; ".join(left))
    return None


def client_result(output: str) -> dict | None:
    for line in reversed(output.splitlines()):
        if line.startswith("RESULT "):
            try:
                return json.loads(line[len("RESULT "):])
            except ValueError:
                return None
    return None


def traceback_in(output: str) -> str | None:
    """The first Python traceback in `output`, up to its exception line, or None."""
    lines = output.splitlines()
    for start, line in enumerate(lines):
        if TRACEBACK in line:
            end = start + 1
            # Indented frame lines (and chained "During handling ..." blocks) belong to it.
            while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
                end += 1
            return "\n".join(lines[start:end + 1])
    return None


def line_at(text: str, position: int) -> str:
    end = text.find("\n", position)
    return text[position:end if end >= 0 else len(text)][:300]


def last_error(output: str) -> str:
    for line in reversed(output.splitlines()):
        if "ERROR" in line or "Error" in line:
            return line.strip()[:300]
    lines = output.strip().splitlines()
    return lines[-1][:300] if lines else "(no output)"


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
