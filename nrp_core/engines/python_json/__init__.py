"""`from nrp_core.engines.python_json import EngineScript`, as nrp-core engine scripts write it.

As in nrp-core, the package takes `EngineScript` from its `engine_script` module, so that a
directory put first on this package's `__path__` (nrp-core's own engine_server modules, see
scripts/conformance/real_engines.py) supplies the class for the whole package.
"""

from .engine_script import EngineScript

__all__ = ["EngineScript"]
