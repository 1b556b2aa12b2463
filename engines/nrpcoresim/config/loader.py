"""Reading, overriding, validating and completing a simulation config.

The order follows NRPCoreSim: parse the file, apply the ``-o`` overrides, validate the top level,
validate every engine entry against the schema of its EngineType, then fill the schemas' defaults.
Every problem becomes one ConfigError naming the file, the JSON path of the key and the reason.
"""

import copy
import json
import logging
import os

from engines.errors import ConfigError
from engines.nrpcoresim.config import registry
from engines.nrpcoresim.config.defaults import fill_defaults
from engines.nrpcoresim.config.in_process import check_in_process
from engines.nrpcoresim.config.jsonpath import format_path
from engines.nrpcoresim.config.overrides import apply_overrides
from engines.nrpcoresim.config.server_address import check_started_elsewhere

log = logging.getLogger(__name__)

PASSING_POLICIES = ("value", "reference")


def load_simulation_config(path, overrides=()) -> dict:
    """Read the config file at `path`, apply `overrides` (``KEY=VALUE`` strings), validate, complete."""
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise ConfigError("config file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config file: {err}", file=file) from err
    try:
        config = json.loads(text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}",
                          file=file) from None
    apply_overrides(config, overrides, file=file)
    return validate_simulation_config(config, file=file)


def validate_simulation_config(config: dict, file: str | None = None) -> dict:
    """Validate an in-memory config and return a completed copy; `config` itself is left as is."""
    config = copy.deepcopy(config)
    policy = _passing_policy(config)
    _check(config, registry.SIMULATION_SCHEMA, file, prefix=[])
    engines = config.get("EngineConfigs", [])
    _check_engine_types(engines, file)
    for index, engine in enumerate(engines):
        _check(engine, registry.engine_schema_path(engine["EngineType"]), file,
               prefix=["EngineConfigs", index])
    _check_unique_names(engines, file)
    check_started_elsewhere(engines, file)
    check_in_process(engines, file)
    _complete(config, registry.SIMULATION_SCHEMA)
    for engine in config["EngineConfigs"]:
        _complete(engine, registry.engine_schema_path(engine["EngineType"]))
    # Both spellings carry the effective policy, so code that reads either key agrees.
    config["DataPackPassingPolicy"] = config["FunctionArgumentsPassingMethod"] = policy
    return config


def argument_passing_policy(config: dict) -> str:
    """How datapacks are passed to functions: "value" (a copy) or "reference".

    nrp-core 1.4's schema declares ``FunctionArgumentsPassingMethod`` (default "value") while its
    code and docs read ``DataPackPassingPolicy`` (and pass by reference when that key is absent).
    Experiments written from the docs use the latter, so it wins when present; otherwise the
    schema's key and default apply: by value, the documented and safer behaviour, since a function
    then cannot change a datapack another function sees.
    """
    return _passing_policy(config)


def _passing_policy(config) -> str:
    if not isinstance(config, dict):
        return "value"  # validation will reject such a config anyway
    documented = config.get("DataPackPassingPolicy")
    declared = config.get("FunctionArgumentsPassingMethod")
    if documented in PASSING_POLICIES:
        if declared in PASSING_POLICIES and declared != documented:
            log.warning("DataPackPassingPolicy=%r takes precedence over FunctionArgumentsPassingMethod=%r",
                        documented, declared)
        return documented
    return declared if declared in PASSING_POLICIES else "value"


def _check(instance, schema_path, file, prefix: list) -> None:
    from jsonschema.exceptions import best_match

    error = best_match(registry.validator_for(schema_path).iter_errors(instance))
    if error is None:
        return
    location = [*prefix, *error.absolute_path]
    reason = error.message
    if error.validator == "required":
        missing = _missing_key(error)
        if missing is not None:
            location.append(missing)
            reason = f"missing required key {missing!r}"
    raise ConfigError(reason, file=file, path=format_path(location))


def _missing_key(error) -> str | None:
    """The property a ``required`` error is about (jsonschema gives it only inside the message)."""
    for name in error.validator_value:
        if isinstance(error.instance, dict) and name not in error.instance \
                and error.message == f"{name!r} is a required property":
            return name
    return None


def _check_engine_types(engines: list, file) -> None:
    for index, engine in enumerate(engines):
        engine_type = engine["EngineType"]
        if engine_type not in registry.ENGINE_TYPES:
            known = ", ".join(sorted(registry.ENGINE_TYPES))
            raise ConfigError(f"unknown EngineType {engine_type!r}; known types: {known}",
                              file=file, path=format_path(["EngineConfigs", index, "EngineType"]))


def _check_unique_names(engines: list, file) -> None:
    # Datapacks, functions and -o selectors address engines by name, so a repeated name is ambiguous.
    first_seen: dict[str, int] = {}
    for index, engine in enumerate(engines):
        name = engine["EngineName"]
        if name in first_seen:
            raise ConfigError(f"duplicate EngineName {name!r}, also used by "
                              f"EngineConfigs[{first_seen[name]}]",
                              file=file, path=format_path(["EngineConfigs", index, "EngineName"]))
        first_seen[name] = index


def _complete(instance, schema_path) -> None:
    fill_defaults(instance, registry.validator_for(schema_path), registry.resolver_for(schema_path))
