"""Streams the neuron's membrane voltage (mV) and the rates of its two generators (Hz: [excitatory,
inhibitory]) to the datatransfer engine.

The voltage is the neuron's own, not the voltmeter's last record: reading the voltmeter means
copying its whole history, which grows at every step. The function runs when the datatransfer
engine is synced, every 0.02 s (its EngineTimestep), so every second step: fifty samples in the
one-second run, for half the cost of streaming every step.
"""

from nrp_core import *
from nrp_core.data.nrp_protobuf import *


@EngineDataPack(keyword="neuron", id=DataPackIdentifier("neuron", "nest"))
@EngineDataPack(keyword="noise", id=DataPackIdentifier("noise", "nest"))
@TransceiverFunction("datatransfer_engine")
def stream_brain(neuron, noise):
    membrane = WrappersDoubleValueDataPack("membrane_voltage", "datatransfer_engine")
    membrane.data.value = neuron.data[0]["V_m"]
    rates = NrpGenericProtoArrayDoubleDataPack("generator_rates", "datatransfer_engine")
    rates.data.array.extend(generator["rate"] for generator in noise.data)
    rates.data.shape.append(len(rates.data.array))
    return [membrane, rates]
