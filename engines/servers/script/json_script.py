"""`EngineScript`, the base class of a python_json engine's `Script` (nrp-core 1.4's API).

Datapack values are JSON values (usually dicts); `None` means an empty datapack, which is what
`_registerDataPack` stores until the script sets one.
"""

from typing import Any

from engines.servers.script.script_base import ScriptBase


class EngineScript(ScriptBase):
    """Base class of the `Script` class a python_json engine's PythonFileName must define."""

    def _registerDataPack(self, name: str) -> None:
        self._checkNotRegistered(name)
        self._datapacks[name] = None

    def _getDataPack(self, name: str) -> Any:
        self._checkRegistered(name)
        return self._datapacks[name]

    def _setDataPack(self, name: str, data: Any) -> None:
        self._checkRegistered(name, "set data on")
        self._datapacks[name] = data
