"""Reports the pendulum's joint state at every step (the run ends at SimulationTimeout)."""

from nrp_core import *


@EngineDataPack(keyword="joint", id=DataPackIdentifier("joint", "pendulum"))
@StatusFunction()
def pendulum_status(joint):
    return False, [joint.data]
