"""`from nrp_core.engines.py_sim.SimManager import SimulatorManager`, nrp-core's module path of the manager."""

from engines.servers.simulators.manager import SimulatorManager

__all__ = ["SimulatorManager"]
