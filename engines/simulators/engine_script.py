"""`PySimEngineScript`, the base class of a py_sim engine's `Script` (nrp-core 1.4's API): a
python_json `EngineScript` with `self.sim_manager`, the `SimulatorManager` of the engine's config.
"""

from __future__ import annotations

from engines.servers.json_script import EngineScript
from engines.simulators.manager import SimulatorManager


class PySimEngineScript(EngineScript):
    """Base class of the `Script` class a py_sim engine's PythonFileName must define."""

    # The engine server sets `_config` on a new script just before calling its initialize(). The
    # simulator is built right then, so that it is ready in initialize() and a bad WorldFileName
    # fails the initialize request even in a script that never touches sim_manager. (nrp-core builds
    # it on first use; `sim_manager` still does that for a script that sets `_config` itself.)
    @property
    def _config(self) -> dict:
        return self.__dict__.get("_engine_config", {})

    @_config.setter
    def _config(self, config: dict) -> None:
        self.__dict__["_engine_config"] = config
        if config and "_sim_manager" not in self.__dict__:
            self._sim_manager = SimulatorManager(config)

    @property
    def sim_manager(self) -> SimulatorManager:
        """The engine's SimulatorManager (nrp-core's `SimulatorManager` API)."""
        if "_sim_manager" not in self.__dict__:
            self._sim_manager = SimulatorManager(self._config)
        return self._sim_manager

    @sim_manager.setter
    def sim_manager(self, manager: SimulatorManager) -> None:
        self._sim_manager = manager
