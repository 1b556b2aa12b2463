"""Reports the neuron's last recorded membrane voltage and the generators' rates at every step (the
run ends at SimulationTimeout).

nrp-core hands a status function's observations to its client only with the done flag, so the
flag is raised while the client has asked for them (the label of the brain's `report` recorder is
"every_step"): the main script then gets the observation after every step, and NRPCoreSim
standalone, which nobody asks, runs to its timeout.
"""

from nrp_core import *

REPORT_LABEL = "every_step"


def brain_observation(voltage, noise):
    """{"voltage_mV": the last recorded voltage (None before the first), "time_ms": when it was
    recorded, "rates": each generator's rate (Hz)}."""
    events = voltage.data[0]["events"]
    recorded = len(events["times"]) > 0
    return {"voltage_mV": events["V_m"][-1] if recorded else None,
            "time_ms": events["times"][-1] if recorded else None,
            "rates": [generator["rate"] for generator in noise.data]}


@EngineDataPack(keyword="voltage", id=DataPackIdentifier("voltage", "nest"))
@EngineDataPack(keyword="noise", id=DataPackIdentifier("noise", "nest"))
@EngineDataPack(keyword="report", id=DataPackIdentifier("report", "nest"))
@StatusFunction()
def nest_status(voltage, noise, report):
    return report.data[0]["label"] == REPORT_LABEL, [brain_observation(voltage, noise)]
