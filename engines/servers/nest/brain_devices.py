"""nrp-core's brain devices for nest_json brain files: each creates NEST nodes, connects them to
`neurons` and registers them as datapack `name`.

Inputs carry a stimulus into the network (set their status from a transceiver function):
    PoissonSpikeGenerator   poisson_generator nodes; set `rate` (Hz)
    DCSource                dc_generator nodes; set `amplitude` (pA)
Outputs read the network's activity (get their status in a transceiver function):
    LeakyIntegratorAlpha    non-spiking iaf_psc_alpha cells; read `V_m` (mV), which rises with the
    LeakyIntegratorExp      spike rate of `neurons` (iaf_psc_exp cells, random delays)

The weights, delays and cell parameters are those of nrp-core 1.4 (and of the NRP's CLE before it),
so that brain files written for it behave the same.
"""

from typing import Any

from engines.servers.nest.datapacks import register_datapack

_INPUT_SYNAPSE = {"synapse_model": "static_synapse", "weight": 0.15, "delay": 0.1}
_INTEGRATOR_WEIGHT = 10.0

# The threshold is out of reach: these cells integrate, they never spike.
_ALPHA_INTEGRATOR = {
    "V_min": 2.2250738585072014e-308,  # the smallest positive double, as nrp-core sets it
    "V_th": 1e10, "C_m": 1000.0, "tau_m": 10.0, "tau_syn_ex": 2.0, "tau_syn_in": 2.0,
    "E_L": 0.0, "V_reset": 0.0, "t_ref": 0.1, "I_e": 0.0,
}
_EXP_INTEGRATOR = {
    "V_th": 1e10, "C_m": 1000.0, "tau_m": 20.0, "tau_syn_ex": 0.5, "tau_syn_in": 0.5,
    "E_L": 0.0, "V_reset": 0.0, "t_ref": 0.1, "I_e": 0.0,
}


def PoissonSpikeGenerator(nest, name: str, neurons, n: int = 1, conn_spec: Any = "all_to_all"):  # noqa: N802
    """`n` Poisson generators driving `neurons`, registered as datapack `name`."""
    generators = nest.Create("poisson_generator", n)
    nest.Connect(generators, neurons, conn_spec=conn_spec, syn_spec=dict(_INPUT_SYNAPSE))
    register_datapack(name, generators)
    return generators


def DCSource(nest, name: str, neurons, n: int = 1, conn_spec: Any = "all_to_all"):  # noqa: N802
    """`n` DC current generators into `neurons`, registered as datapack `name`."""
    generators = nest.Create("dc_generator", n)
    nest.Connect(generators, neurons, conn_spec=conn_spec)
    register_datapack(name, generators)
    return generators


def LeakyIntegratorAlpha(nest, name: str, neurons, n: int = 1, conn_spec: Any = "all_to_all"):  # noqa: N802
    """`n` leaky integrators (iaf_psc_alpha) of the spikes of `neurons`, registered as datapack `name`."""
    return _leaky_integrator(nest, name, neurons, n, "iaf_psc_alpha", _ALPHA_INTEGRATOR, conn_spec, 0.1)


def LeakyIntegratorExp(nest, name: str, neurons, n: int = 1, conn_spec: Any = "all_to_all"):  # noqa: N802
    """`n` leaky integrators (iaf_psc_exp, delays uniform in 0.1-2 ms), registered as datapack `name`."""
    delay = nest.random.uniform(min=0.1, max=2.0)
    return _leaky_integrator(nest, name, neurons, n, "iaf_psc_exp", _EXP_INTEGRATOR, conn_spec, delay)


def _leaky_integrator(nest, name, neurons, n, model, params, conn_spec, delay):
    cells = nest.Create(model, n, params=dict(params))
    cells.set({"V_m": params["E_L"]})
    nest.Connect(neurons, cells, conn_spec=conn_spec,
                 syn_spec={"synapse_model": "static_synapse", "weight": _INTEGRATOR_WEIGHT, "delay": delay})
    register_datapack(name, cells)
    return cells
