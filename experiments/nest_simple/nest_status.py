"""Reports the neuron's membrane voltage and the generators' rates at every step (the run ends at
SimulationTimeout).

nrp-core hands a status function's observations to its client only with the done flag, so the
flag is raised while the client has asked for them (the label of the brain's `report` recorder is
"every_step"): the main script then gets the observation after every step, and NRPCoreSim
standalone, which nobody asks, runs to its timeout.
"""

from nrp_core import *

REPORT_LABEL = "every_step"


@EngineDataPack(keyword="neuron", id=DataPackIdentifier("neuron", "nest"))
@EngineDataPack(keyword="noise", id=DataPackIdentifier("noise", "nest"))
@EngineDataPack(keyword="report", id=DataPackIdentifier("report", "nest"))
@StatusFunction()
def nest_status(neuron, noise, report):
    observation = {"voltage_mV": neuron.data[0]["V_m"], "rates": [generator["rate"] for generator in noise.data]}
    return report.data[0]["label"] == REPORT_LABEL, [observation]
