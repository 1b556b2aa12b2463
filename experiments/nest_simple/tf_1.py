"""Reads the neuron's recorded voltage and sets the rates of the two generators at every step:
the excitatory one follows |1000 sin n|, the inhibitory one |1000 cos n|."""

from math import cos, sin

from nrp_core import *
from nrp_core.data.nrp_json import *

sin_x = [abs(1000 * sin(x)) for x in range(100)]
cos_x = [abs(1000 * cos(x)) for x in range(100)]
n = 0


@EngineDataPack(keyword='voltage', id=DataPackIdentifier('voltage', 'nest'))
@TransceiverFunction("nest")
def transceiver_function(voltage):
    global n
    events = voltage.data[0]["events"]
    if events["times"]:
        print(f"{len(events['times'])} voltages recorded, "
              f"last {events['V_m'][-1]:.3f} mV at {events['times'][-1]} ms")

    n = n + 1 if n < 99 else 0
    noise_datapack = JsonDataPack("noise", "nest")
    # A new datapack holds a JSON null, which append() turns into an array: one status dict per
    # generator, as nest.SetStatus takes them.
    noise_datapack.data.append({"rate": sin_x[n]})
    noise_datapack.data.append({"rate": cos_x[n]})
    return [noise_datapack]
