"""Checks built on other modules of this package: nrp-core's `nrp_simulation/tests/server.py` run
with the real nrp-client (server_suite.py), and nrp-core's own Python engine servers under our
orchestrator (real_engines.py: `run_real_engines(checkout, experiment, config_file, started_by=...,
workdir=..., timeout_s=...) -> RealEnginesResult(passed, reason, log)`).

server_suite.py builds its own Check (`checks(checkout)`), running in the check's sandbox and
environment. run_real_engines runs in a child process (suite_child.py) inside the check's sandbox,
so that what it starts is ended with the check on a timeout or Ctrl-C. Should either module be
missing (a partial copy of the scripts), its check is listed as SKIP saying so.
"""

from __future__ import annotations

import importlib
import json
import pathlib

from .checks import Check, Outcome
from .examples import find_configs
from .sandbox import Sandbox
from .simulations import client_result, resources, tail

HERE = pathlib.Path(__file__).resolve().parent
SERVER_SUITE = "nrp_simulation/tests/server.py"
REAL_ENGINE_TYPES = {"python_json", "python_grpc"}
REAL_ENGINES_TIMEOUT_S = 150.0


def _module(name: str):
    try:
        return importlib.import_module(f"{__package__}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.{name}":
            raise
        return None


def server_suite_checks(checkout: pathlib.Path) -> list[Check]:
    name = f"server-suite {SERVER_SUITE}"
    module = _module("server_suite")
    if module is None:
        return [Check(name=name, skip="scripts/conformance/server_suite.py does not exist yet")]
    if hasattr(module, "checks"):
        return list(module.checks(pathlib.Path(checkout)))
    return [Check(name=name, skip="scripts/conformance/server_suite.py offers no function the runner knows yet")]


def real_engine_checks(checkout: pathlib.Path) -> list[Check]:
    module = _module("real_engines")
    if module is None or not hasattr(module, "run_real_engines"):
        return [Check(name="real-engines nrp-core's Python engine servers",
                      skip="scripts/conformance/real_engines.py (run_real_engines) does not exist yet")]
    missing = [relative for relative, _, program in module.SERVERS.values()
               if not (pathlib.Path(checkout) / relative / program).is_file()]
    if missing:
        return [Check(name="real-engines nrp-core's Python engine servers",
                      skip=f"{', '.join(missing)} not in {checkout} (only nrp-core's full checkout has the servers)")]
    checks = []
    for config in find_configs(checkout):
        engine_types = {engine.get("EngineType") for engine in config.data.get("EngineConfigs") or []}
        if config.out_of_scope or not engine_types or not engine_types <= REAL_ENGINE_TYPES:
            continue
        for started_by in ("launcher", "hand"):
            checks.append(Check(name=f"real-engines-{started_by} {config.label}",
                                run=_real_engines_runner(config, started_by), resources=resources(config),
                                timeout_s=REAL_ENGINES_TIMEOUT_S + 60))
    return checks


def _real_engines_runner(config, started_by: str):
    def run(sandbox: Sandbox) -> Outcome:
        workdir = sandbox.folder / "work"
        workdir.mkdir()
        kwargs = {"checkout": str(config.checkout), "experiment": str(config.source), "config_file": config.file,
                  "started_by": started_by, "workdir": str(workdir), "timeout_s": REAL_ENGINES_TIMEOUT_S}
        command = [sandbox.venv_python, str(HERE / "suite_child.py"), "real_engines", "run_real_engines",
                   json.dumps(kwargs)]
        completed = sandbox.run(command, cwd=sandbox.folder, timeout_s=REAL_ENGINES_TIMEOUT_S + 30)
        result = client_result(completed.output)
        if completed.timed_out or result is None:
            return Outcome.failed(f"run_real_engines gave no result (exit {completed.returncode})\n{completed.tail()}")
        if not result.get("passed"):
            return Outcome.failed(f"{result.get('reason')}\n{tail(result.get('log', ''), 25)}")
        left = sandbox.leftovers()
        if left:
            return Outcome.failed("processes left running (killed now): " + "; ".join(left))
        return Outcome.passed()

    return run
