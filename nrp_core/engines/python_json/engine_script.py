"""`nrp_core.engines.python_json.engine_script`, where nrp-core defines `EngineScript`."""

from engines.servers.script.json_script import EngineScript

__all__ = ["EngineScript"]
