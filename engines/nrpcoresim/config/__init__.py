"""nrp-core 1.4 experiment configs: schemas, defaults and ``-o`` overrides.

    config = load_simulation_config("simulation_config.json", ["EngineConfigs.0.EngineTimestep=0.02"])

returns the file's JSON object with nrp-core's key names, validated against ``schemas/simulation.json``
and, for each entry of ``EngineConfigs``, against the schema of its ``EngineType``, with every schema
default filled in. Any problem is a ``ConfigError`` naming the file, the key's JSON path and the reason.

Importing this package does not import jsonschema (slow to import); the first validation does, and
each validator is built once per process.
"""

from engines.nrpcoresim.config.loader import (argument_passing_policy, load_simulation_config,
                                              validate_simulation_config)
from engines.nrpcoresim.config.overrides import apply_overrides, parse_override, split_assignments
from engines.nrpcoresim.config.registry import ENGINE_TYPES, register_engine_schema

__all__ = [
    "ENGINE_TYPES",
    "apply_overrides",
    "argument_passing_policy",
    "load_simulation_config",
    "parse_override",
    "register_engine_schema",
    "split_assignments",
    "validate_simulation_config",
]
