"""Completing a validated config with the defaults its schema declares.

jsonschema only validates; it never inserts defaults. This walk follows the same keywords the schemas
use to build on each other (``$ref``, ``allOf``, ``if``/``then``/``else``, ``properties``, ``items``) so
that a python_json engine gets EngineBase's, EngineJSON's and its own defaults, and every entry of an
array gets the defaults of its item schema.
"""

import copy

_MISSING = object()


def fill_defaults(instance, validator, resolver) -> None:
    """Insert, in place, every default of `validator`'s schema that `instance` lacks.

    `resolver` (a ``referencing`` resolver rooted at the schema's URI) follows the ``$ref``s; the
    validator decides ``if`` branches.

    Run it on an instance that `validator` accepts: the walk trusts the types it finds. A key that is
    present is never replaced, and a default is itself completed (``EngineLaunchCommand`` gets its
    ``LaunchType``). Where a schema and one it builds on both give a default, the derived schema wins,
    which is how datatransfer_grpc_engine's ``ProtobufPackages: ["Dump"]`` beats EngineGRPC's.
    """
    _walk(instance, validator.schema, resolver, validator)


def _walk(instance, schema, resolver, validator) -> None:
    if not isinstance(schema, dict):
        return  # true/false schemas carry no defaults
    if "$ref" in schema:
        # Draft-07 ignores every keyword beside $ref, so the walk does too.
        resolved = resolver.lookup(schema["$ref"])
        _walk(instance, resolved.contents, resolved.resolver, validator)
        return
    # This schema's own keywords come before the ones it builds on (allOf), so its defaults win.
    if isinstance(instance, dict):
        for name, subschema in schema.get("properties", {}).items():
            if name not in instance:
                default = _default_of(subschema, resolver)
                if default is _MISSING:
                    continue
                instance[name] = copy.deepcopy(default)
            _walk(instance[name], subschema, resolver, validator)
    elif isinstance(instance, list):
        items = schema.get("items")
        if isinstance(items, list):
            for element, subschema in zip(instance, items):
                _walk(element, subschema, resolver, validator)
        elif items is not None:
            for element in instance:
                _walk(element, items, resolver, validator)
    if "if" in schema:
        # The branch depends on values filled just above (a missing LaunchType means BasicFork).
        branch = "then" if validator.evolve(schema=schema["if"]).is_valid(instance) else "else"
        if branch in schema:
            _walk(instance, schema[branch], resolver, validator)
    for subschema in schema.get("allOf", ()):
        _walk(instance, subschema, resolver, validator)


def _default_of(schema, resolver):
    """The default a property schema declares, looking through a bare ``$ref`` if need be."""
    while isinstance(schema, dict):
        if "default" in schema:
            return schema["default"]
        if "$ref" not in schema:
            break
        resolved = resolver.lookup(schema["$ref"])
        schema, resolver = resolved.contents, resolved.resolver
    return _MISSING
