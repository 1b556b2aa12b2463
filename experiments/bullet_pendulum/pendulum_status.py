"""Reports the pendulum's joint state at every step (the run ends at SimulationTimeout).

nrp-core hands a status function's observations to its client only with the done flag, so the
flag is raised while the client has asked for them (the engine's `report` datapack is set): the
main script then gets the joint state after every step, and NRPCoreSim standalone, which nobody
asks, runs to its timeout.
"""

from nrp_core import *


@EngineDataPack(keyword="joint", id=DataPackIdentifier("joint", "pendulum"))
@EngineDataPack(keyword="report", id=DataPackIdentifier("report", "pendulum"))
@StatusFunction()
def pendulum_status(joint, report):
    return not report.isEmpty(), [joint.data]
