"""nrp-core 1.4's Python import name, as a thin surface over `engines`, so that experiment files
written for nrp-core (`from nrp_core import *`) load unchanged. The names are the ones NRPCoreSim
gives function files (engines.nrpcoresim.function_api)."""

from engines.nrpcoresim import function_api
from engines.nrpcoresim.function_api import *  # noqa: F403

__all__ = function_api.__all__
