"""The vehicle's brain: a Braitenberg vehicle 2b (crossed excitation) in NEST.

Each eye drives a population of ten sensor neurons through a Poisson generator (datapacks `lpg`,
`rpg`: the transceiver function sets their `rate`). The left population excites the integrator of
the right wheel and the right population that of the left wheel (datapacks `right_motor`,
`left_motor`: their `V_m` sets the wheel speeds). A pillar seen on the left therefore speeds up
the right wheel and turns the vehicle towards it.

The sensor neurons are those of nrp-core's husky Braitenberg brain: excitable conductance-based
cells (threshold 0.5 mV above rest) with a 10 ms refractory period, so that they fire at up to
100 Hz as soon as their generator does.
"""

import nest
from nrp_core.engines.nest_json import brain_devices as bd

SENSOR_PARAMS = {"E_L": -60.5, "C_m": 25.0, "g_L": 2.5, "t_ref": 10.0, "tau_syn_ex": 2.5, "tau_syn_in": 2.5,
                 "E_ex": 0.0, "E_in": -75.0, "V_th": -60.0, "V_reset": -60.5, "V_m": -60.5}
POPULATION_SIZE = 10

nest.ResetKernel()

left_sensors = nest.Create("iaf_cond_alpha", POPULATION_SIZE, params=SENSOR_PARAMS)
right_sensors = nest.Create("iaf_cond_alpha", POPULATION_SIZE, params=SENSOR_PARAMS)

bd.PoissonSpikeGenerator(nest, "lpg", left_sensors)
bd.PoissonSpikeGenerator(nest, "rpg", right_sensors)

# Crossed: each eye drives the wheel on the other side.
bd.LeakyIntegratorAlpha(nest, "left_motor", right_sensors)
bd.LeakyIntegratorAlpha(nest, "right_motor", left_sensors)
