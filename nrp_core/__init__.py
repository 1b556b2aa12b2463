"""nrp-core 1.4's Python import name, as a thin surface over `engines`, so that experiment files
written for nrp-core (`from nrp_core import *`) load unchanged."""
