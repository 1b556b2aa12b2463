"""The schema files, the engine types they describe, and one validator per schema per process.

Schemas live in ``schemas/`` beside this module and name each other by relative ``$ref``
(``engine_json.json`` builds on ``engine_base.json``); all of them share one base URI so those
references resolve without any network access. jsonschema is imported inside the functions that need
it: its import is slow, and ``import engines.nrpcoresim.config`` must stay cheap.
"""

import functools
import json
import logging
import threading
from pathlib import Path
from types import MappingProxyType

from engines.errors import ConfigError

log = logging.getLogger(__name__)

SCHEMA_DIR = Path(__file__).with_name("schemas")
# A reserved top-level domain: the URIs only identify the schemas, nothing is ever fetched from them.
BASE_URI = "https://nrp-jupyter.invalid/schemas/"
SIMULATION_SCHEMA = SCHEMA_DIR / "simulation.json"

_engine_schemas: dict[str, Path] = {
    engine_type: SCHEMA_DIR / f"{engine_type}.json"
    for engine_type in ("python_json", "python_grpc", "py_sim", "datatransfer_grpc_engine", "nest_json")
}
# Read-only view; register_engine_schema is the one writer, so it can drop the caches it invalidates.
ENGINE_TYPES = MappingProxyType(_engine_schemas)
_lock = threading.Lock()


def register_engine_schema(engine_type: str, schema_file: str | Path) -> None:
    """Make `engine_type` a known EngineType, validated and completed by `schema_file`.

    A relative `schema_file` is looked up in the package's ``schemas/`` folder. The schema may build on
    the base ones with ``{"allOf": [{"$ref": "engine_grpc.json"}]}``. Registering a type again replaces
    its schema.
    """
    if not isinstance(engine_type, str) or not engine_type:
        raise ValueError(f"an EngineType must be a non-empty string, not {engine_type!r}")
    path = Path(schema_file)
    if not path.is_absolute():
        path = SCHEMA_DIR / path
    if not path.is_file():
        raise ConfigError("schema file not found", file=str(path))
    with _lock:
        _engine_schemas[engine_type] = path
        _read_schema.cache_clear()
        _schema_registry.cache_clear()
        _validator.cache_clear()
    log.debug("EngineType %r validated by %s", engine_type, path)


def schema_uri(path: Path) -> str:
    """The URI a schema file is known by: its own ``$id``, or the shared base URI plus its file name."""
    return _read_schema(path).get("$id") or BASE_URI + path.name


def engine_schema_path(engine_type: str) -> Path:
    return _engine_schemas[engine_type]


def validator_for(path: Path):
    """The Draft-07 validator of one schema file, built once per process."""
    return _validator(path)


def resolver_for(path: Path):
    """A ``referencing`` resolver rooted at one schema file, for walks that follow its ``$ref``s."""
    return _schema_registry().resolver(base_uri=schema_uri(path))


@functools.lru_cache(maxsize=None)
def _read_schema(path: Path) -> dict:
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ConfigError(f"cannot read schema: {err}", file=str(path)) from err
    if not isinstance(schema, dict):
        raise ConfigError("a schema must be a JSON object", file=str(path))
    return schema


@functools.lru_cache(maxsize=1)
def _schema_registry():
    from referencing import Registry
    from referencing.jsonschema import DRAFT7

    files = {*SCHEMA_DIR.glob("*.json"), *_engine_schemas.values()}
    return Registry().with_resources(
        (schema_uri(path), DRAFT7.create_resource(_read_schema(path))) for path in sorted(files)
    )


@functools.lru_cache(maxsize=None)
def _validator(path: Path):
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    schema = dict(_read_schema(path))
    # Give a schema without $id the URI the registry knows it by, so its relative $refs resolve.
    schema.setdefault("$id", schema_uri(path))
    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as err:
        raise ConfigError(f"invalid schema: {err.message}", file=str(path)) from err
    return Draft7Validator(schema, registry=_schema_registry())
