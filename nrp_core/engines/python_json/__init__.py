"""`from nrp_core.engines.python_json import EngineScript`, as nrp-core engine scripts write it."""

from engines.servers.json_script import EngineScript

__all__ = ["EngineScript"]
