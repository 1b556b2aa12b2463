"""The py_sim engine server: a python_json engine whose script drives a Python-API simulator.

    nrp-py-sim-engine --engine=NAME --serverurl=HOST:PORT [--regservurl=HOST:PORT] [--options=STR]

The protocol is python_json's, route for route (engines/servers/python_json.py). What differs:

- the script's base class is `PySimEngineScript` (`nrp_core.engines.py_sim`), whose `sim_manager`
  is built from the engine config (`Simulator`, `WorldFileName`, `Visualizer`, `EngineTimestep`)
  before the script's `initialize()`; a missing world file or an unknown simulator fails the
  initialize request with a message naming it;
- the simulator is shut down with the engine, even if the script's `shutdown()` does not do it;
- the process is headless: MuJoCo renders through EGL (`MUJOCO_GL=egl` unless already set).
"""

import os
import sys
from typing import Any

from engines.servers.python_json import DEFAULT_SERVER_URL, JsonEngineServer
from engines.servers.runner import run_engine
from engines.servers.script.script_host import EngineStateError
from engines.servers.simulators.engine_script import PySimEngineScript


class PySimEngineServer(JsonEngineServer):
    """python_json's routes; shutdown also releases the script's simulator."""

    def _shutdown(self, request: Any) -> None:
        manager = self._sim_manager()
        try:
            super()._shutdown(request)
        finally:
            # Scripts normally call sim_manager.shutdown() themselves; doing it twice is harmless.
            if manager is not None:
                manager.shutdown()

    def _sim_manager(self):
        try:
            with self._host.script() as script:
                return script.__dict__.get("_sim_manager")
        except EngineStateError:  # never initialized: nothing was built
            return None


def main(argv: list[str] | None = None) -> int:
    # Before any simulator is imported: mujoco chooses its OpenGL platform at import time.
    os.environ.setdefault("MUJOCO_GL", "egl")
    return run_engine(argv, prog="nrp-py-sim-engine", default_serverurl=DEFAULT_SERVER_URL,
                      script_base=PySimEngineScript, make_server=PySimEngineServer)


if __name__ == "__main__":
    sys.exit(main())
