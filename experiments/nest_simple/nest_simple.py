"""Brain of nest_simple: two Poisson generators drive a neuron, whose voltage a voltmeter records.

Datapacks: `noise` (the two generators), `voltage` (the voltmeter), `neuron` (the neuron itself:
its membrane voltage now, without the voltmeter's growing history), `report`, an unconnected
spike recorder whose label the client (the main script) sets to "every_step" to have the status
function report every step (nest_status.py), and `drive`, a third, excitatory generator that no
function sets: it is silent (0 Hz) until a client steers its rate (steering.json).
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

# Created last, so that the other nodes keep their ids and the unsteered run stays as it was.
drive = CreateDataPack("drive", "poisson_generator", params={"rate": 0.0})
nest.Connect(drive, neuron, syn_spec={"weight": 1.2, "delay": 1.0})
