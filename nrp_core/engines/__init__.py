"""nrp-core's `nrp_core.engines` package: the engine script base classes, per protocol."""
