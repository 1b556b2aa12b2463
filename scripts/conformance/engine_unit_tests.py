"""nrp-core's own unit tests of its Python engine servers, run unchanged against our nrp_core.

nrp-core runs them with py.test from each tests folder (its CMake `add_test`s); so do we, on a copy,
with our .venv's interpreter. They exist only in nrp-core's full checkout.
"""

from __future__ import annotations

import pathlib
import re

from .checks import Check, Outcome
from .sandbox import Sandbox

TEST_FOLDERS = ("nrp_python_json_engine/tests", "nrp_python_grpc_engine/tests")
TIMEOUT_S = 180.0


def unit_test_checks(checkout: pathlib.Path) -> list[Check]:
    checks = []
    for relative in TEST_FOLDERS:
        source = pathlib.Path(checkout) / relative
        name = f"unit-tests {relative}"
        if not source.is_dir():
            checks.append(Check(name=name, skip=f"{relative} is not in {checkout} (only nrp-core's full "
                                                 "checkout has the engine servers' tests)"))
            continue
        checks.append(Check(name=name, run=_runner(source), timeout_s=TIMEOUT_S + 30))
    return checks


def _runner(source: pathlib.Path):
    def run(sandbox: Sandbox) -> Outcome:
        folder = sandbox.copy(source, "tests")
        # No cache folder, no inherited options: the copy's own py.test run, as nrp-core's CMake does.
        command = [sandbox.venv_python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                   "--rootdir", str(folder), str(folder)]
        completed = sandbox.run(command, cwd=folder, timeout_s=TIMEOUT_S)
        summary = _summary(completed.output)
        if completed.timed_out:
            return Outcome.failed(f"not finished within {TIMEOUT_S:.0f}s\n{completed.tail()}")
        if completed.returncode != 0:
            return Outcome.failed(f"{summary or f'pytest exited {completed.returncode}'}\n{completed.tail(40)}")
        left = sandbox.leftovers()
        if left:
            return Outcome.failed("processes left running (killed now): " + "; ".join(left))
        return Outcome.passed(summary)

    return run


def _summary(output: str) -> str:
    """pytest's closing line without its decoration: '22 passed in 0.26s'."""
    for line in reversed(output.splitlines()):
        if re.search(r"\d+ (passed|failed|error)", line):
            return line.strip("= ").strip()
    return ""
