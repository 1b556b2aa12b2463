"""What a JSON datapack's value becomes on its way over the JSON engine protocol, without the wire.

Over RPC a value is `json.dumps`ed on one side and `json.loads`ed on the other, so the receiver
gets a copy made of dicts with string keys, lists, strings, numbers, booleans and None: tuples
arrive as lists, numeric keys as strings, and a value the sender keeps changing is not shared.
`json_copy` gives an in-process engine exactly that value, and fails as `json.dumps` would. Dicts,
lists, tuples and plain scalars are copied directly, which covers most values many times faster;
anything else (numpy values, subclasses of str, int or float) takes the real round trip.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

_SCALARS = (str, int, float, bool, type(None))


def json_copy(value: Any, default: Callable[[Any], Any] | None = None) -> Any:
    """`json.loads(json.dumps(value, default=default))`."""
    try:
        return _copy(value, default)
    except RecursionError:
        # A value that contains itself, or is nested deeper than the interpreter allows: the round
        # trip raises what the wire would ("Circular reference detected").
        return _round_trip(value, default)


def tolist_default(value: Any) -> Any:
    """The engine servers' `json.dumps` default: numpy arrays and scalars, which scripts often put
    in datapacks, become lists and numbers."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _copy(value, default):
    kind = type(value)
    if kind in _SCALARS:
        return value
    # As json's encoder reads containers: a dict (or a subclass, such as a datapack's NlohmannJson)
    # through items(), a list or tuple (or a subclass) through its items, not its __iter__.
    if isinstance(value, dict):
        copied = {}
        for key, item in value.items():
            if type(key) is not str:
                return _round_trip(value, default)  # json's own rules for keys that are not strings
            copied[key] = _copy(item, default)
        return copied
    if isinstance(value, (list, tuple)):
        items = list.__iter__(value) if isinstance(value, list) else tuple.__iter__(value)
        return [_copy(item, default) for item in items]
    return _round_trip(value, default)


def _round_trip(value, default):
    return json.loads(json.dumps(value, default=default))
