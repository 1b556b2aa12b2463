"""`PySimEngineScript`, the base class of a py_sim engine's `Script` (nrp-core 1.4's API): a
python_json `EngineScript` with `self.sim_manager`, the `SimulatorManager` of the engine's config.
"""

from __future__ import annotations

from engines.servers.script.json_script import EngineScript
from engines.servers.simulators.manager import SimulatorManager


class PySimEngineScript(EngineScript):
    """Base class of the `Script` class a py_sim engine's PythonFileName must define."""

    def _prepare(self, config: dict) -> None:
        # The simulator is built before the script's initialize(), so that it is ready there and a
        # bad WorldFileName fails the initialize request even in a script that never touches
        # sim_manager. (nrp-core builds it on first use; `sim_manager` still does that for a script
        # run without a server.) A manager the script's __init__ installed is kept.
        super()._prepare(config)
        if "_sim_manager" not in self.__dict__:
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
