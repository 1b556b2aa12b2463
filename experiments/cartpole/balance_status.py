"""Reports the engine's balance score at every step (the run itself ends at SimulationTimeout)."""

from nrp_core import *


@EngineDataPack(keyword="balance", id=DataPackIdentifier("balance", "cartpole"))
@StatusFunction()
def balance_status(balance):
    return False, [balance.data]
