"""Reports the engine's balance score at every step (the run itself ends at SimulationTimeout).

nrp-core hands a status function's observations to its client only with the done flag, so the
flag is raised while the client has asked for them (the engine's `report` datapack is set): the
main script then gets the balance after every step, and NRPCoreSim standalone, which nobody asks,
runs to its timeout.
"""

from nrp_core import *


@EngineDataPack(keyword="balance", id=DataPackIdentifier("balance", "cartpole"))
@EngineDataPack(keyword="report", id=DataPackIdentifier("report", "cartpole"))
@StatusFunction()
def balance_status(balance, report):
    return not report.isEmpty(), [balance.data]
