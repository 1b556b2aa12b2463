"""`from nrp_core.engines.py_sim import PySimEngineScript`, as nrp-core's py_sim engine scripts write it."""

from engines.servers.simulators.engine_script import PySimEngineScript
from engines.servers.simulators.manager import SimulatorManager

__all__ = ["PySimEngineScript", "SimulatorManager"]
