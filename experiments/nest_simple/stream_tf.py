"""Streams the neuron's last recorded membrane voltage (mV) and the rates of its two generators
(Hz: [excitatory, inhibitory]) to the datatransfer engine.

The function runs when the datatransfer engine is synced, every 0.02 s (its EngineTimestep), so
every second step: fifty samples in the one-second run, for half the cost of streaming every step.
"""

from nrp_core import *
from nrp_core.data.nrp_protobuf import *


@EngineDataPack(keyword="voltage", id=DataPackIdentifier("voltage", "nest"))
@EngineDataPack(keyword="noise", id=DataPackIdentifier("noise", "nest"))
@TransceiverFunction("datatransfer_engine")
def stream_brain(voltage, noise):
    rates = NrpGenericProtoArrayDoubleDataPack("generator_rates", "datatransfer_engine")
    rates.data.array.extend(generator["rate"] for generator in noise.data)
    rates.data.shape.append(len(rates.data.array))
    streamed = [rates]
    events = voltage.data[0]["events"]
    if len(events["times"]) > 0:  # nothing is recorded before the first step (nor is "V_m" there)
        membrane = WrappersDoubleValueDataPack("membrane_voltage", "datatransfer_engine")
        membrane.data.value = events["V_m"][-1]
        streamed.append(membrane)
    return streamed
