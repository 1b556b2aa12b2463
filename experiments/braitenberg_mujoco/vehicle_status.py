"""Reports the vehicle's pose at every step (the run ends at SimulationTimeout).

nrp-core hands a status function's observations to its client only with the done flag, so the
flag is raised while the client has asked for them (the engine's `report` datapack is set): the
main script then gets the pose after every step, and NRPCoreSim standalone, which nobody asks,
runs to its timeout.
"""

from nrp_core import *


@EngineDataPack(keyword="pose", id=DataPackIdentifier("pose", "vehicle"))
@EngineDataPack(keyword="report", id=DataPackIdentifier("report", "vehicle"))
@StatusFunction()
def vehicle_status(pose, report):
    return not report.isEmpty(), [pose.data]
