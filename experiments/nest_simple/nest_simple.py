"""Brain of nest_simple: two Poisson generators drive a neuron, whose voltage a voltmeter records.

Datapacks: `noise` (the two generators), `voltage` (the voltmeter), `neuron` (the neuron itself:
its membrane voltage now, without the voltmeter's growing history) and `report`, an unconnected
spike recorder whose label the client (the main script) sets to "every_step" to have the status
function report every step (nest_status.py).
"""

import nest
from nrp_core.engines.nest_json import CreateDataPack, RegisterDataPack

nest.verbosity = nest.VerbosityLevel.WARNING
nest.ResetKernel()

noise = CreateDataPack("noise", "poisson_generator", 2)
neuron = nest.Create("iaf_psc_alpha")
RegisterDataPack("neuron", neuron)
voltmeter = nest.Create("voltmeter")
RegisterDataPack("voltage", voltmeter)
CreateDataPack("report", "spike_recorder")

# One excitatory and one inhibitory input.
nest.Connect(noise, neuron, syn_spec={"weight": [[1.2, -1.0]], "delay": 1.0})
nest.Connect(voltmeter, neuron)
