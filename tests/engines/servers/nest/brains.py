"""Brain files (NestInitFileName) for the nest_json engine tests."""

# nrp-core's nest_simple network, plus a DC-driven neuron whose spikes a recorder counts.
SIMPLE = '''\
import nest
from nrp_core.engines.nest_json import CreateDataPack, RegisterDataPack

nest.ResetKernel()
noise = CreateDataPack("noise", "poisson_generator", 2)
neuron = nest.Create("iaf_psc_alpha")
voltmeter = nest.Create("voltmeter")
RegisterDataPack("voltage", voltmeter)
nest.Connect(noise, neuron, syn_spec={"weight": [[1.2, -1.0]], "delay": 1.0})
nest.Connect(voltmeter, neuron)

drive = CreateDataPack("drive", "dc_generator")
driven = nest.Create("iaf_psc_alpha")
spikes = CreateDataPack("spikes", "spike_recorder")
nest.Connect(drive, driven)
nest.Connect(driven, spikes)

with open("brain_runs.txt", "a") as runs:
    runs.write("run\\n")
'''

# Poisson input to a neuron that spikes: its spike times depend on NEST's random numbers.
RANDOM_SPIKES = '''\
import nest
from nrp_core.engines.nest_json import RegisterDataPack

nest.ResetKernel()
source = nest.Create("poisson_generator", params={"rate": 20000.0})
neuron = nest.Create("iaf_psc_alpha")
recorder = nest.Create("spike_recorder")
nest.Connect(source, neuron, syn_spec={"weight": 5.0})
nest.Connect(neuron, recorder)
RegisterDataPack("spikes", recorder)
'''

# nrp-core's brain devices: Poisson input into a population, leaky integrators out of it.
DEVICES = '''\
import nest
from nrp_core.engines.nest_json import brain_devices as bd

nest.ResetKernel()
population = nest.Create("iaf_psc_alpha", 2)
bd.PoissonSpikeGenerator(nest, "input", population[0:1])
bd.DCSource(nest, "current", population[1:2])
bd.LeakyIntegratorAlpha(nest, "actors", population, n=2, conn_spec="one_to_one")
bd.LeakyIntegratorExp(nest, "exp_actors", population)
'''

CONNECTIONS = '''\
import nest
from nrp_core.engines.nest_json import RegisterDataPack

nest.ResetKernel()
pre = nest.Create("iaf_psc_alpha", 2)
post = nest.Create("iaf_psc_alpha")
nest.Connect(pre, post, syn_spec={"weight": 2.0})
RegisterDataPack("synapses", nest.GetConnections(pre, post))
'''

SYNTAX_ERROR = '''\
import nest

nest.Create("iaf_psc_alpha"
'''

RAISES = '''\
import nest

nest.ResetKernel()
neuron = nest.Create("iaf_psc_alpha")
raise RuntimeError("the brain is broken")
'''

NEST_ERROR = '''\
import nest

nest.ResetKernel()
neuron = nest.Create("no_such_neuron_model")
'''

DUPLICATE_NAME = '''\
import nest
from nrp_core.engines.nest_json import CreateDataPack

nest.ResetKernel()
CreateDataPack("twice", "iaf_psc_alpha")
CreateDataPack("twice", "iaf_psc_alpha")
'''

NOT_A_NEST_OBJECT = '''\
import nest
from nrp_core.engines.nest_json import RegisterDataPack

nest.ResetKernel()
RegisterDataPack("numbers", [1, 2, 3])
'''
