"""`from nrp_core.engines.nest_json import brain_devices as bd`: nrp-core's brain devices."""

from engines.servers.nest.brain_devices import (DCSource, LeakyIntegratorAlpha, LeakyIntegratorExp,
                                                PoissonSpikeGenerator)

__all__ = ["DCSource", "LeakyIntegratorAlpha", "LeakyIntegratorExp", "PoissonSpikeGenerator"]
