"""Checks that other modules of this package build: nrp-core's `nrp_simulation/tests/server.py` run
with the real nrp-client (server_suite.py), and nrp-core's own Python engine servers run under our
orchestrator (real_engines.py).

INTEGRATION POINT: each module is expected to offer `checks(checkout: pathlib.Path) -> list[Check]`
(conformance.checks.Check; `run(sandbox)` answers an Outcome). Until a module exists, or offers
that function, its check is listed as SKIP saying so.
"""

from __future__ import annotations

import importlib
import pathlib

from .checks import Check

SERVER_SUITE = "nrp_simulation/tests/server.py"


def server_suite_checks(checkout: pathlib.Path) -> list[Check]:
    return _from_module("server_suite", checkout, f"server-suite {SERVER_SUITE}")


def real_engine_checks(checkout: pathlib.Path) -> list[Check]:
    return _from_module("real_engines", checkout, "real-engines nrp-core's Python engine servers")


def _from_module(module_name: str, checkout: pathlib.Path, placeholder: str) -> list[Check]:
    try:
        module = importlib.import_module(f"{__package__}.{module_name}")
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.{module_name}":
            raise
        return [Check(name=placeholder, skip=f"scripts/conformance/{module_name}.py does not exist yet")]
    build = getattr(module, "checks", None)
    if build is None:
        return [Check(name=placeholder,
                      skip=f"scripts/conformance/{module_name}.py offers no checks(checkout) function yet")]
    return list(build(pathlib.Path(checkout)))
