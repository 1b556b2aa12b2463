"""NEST status as JSON datapack data, and back, in the shape nrp-core's nest_json engine uses.

Reading a datapack gives what `nest.GetStatus(obj)` gives: a list with one dict per node (or
connection), e.g. `actors.data[1]["V_m"]`. Writing one calls `obj.set(data)`: a dict sets every
node alike, a list of dicts sets them one by one (a one-element list also sets them all, as NEST does).

Values become plain JSON: numpy arrays and scalars turn into lists and numbers, tuples into lists,
and infinite or NaN floats into null, as nlohmann::json writes them in nrp-core (V_min is -inf).
"""

import math
from typing import Any


class StatusError(ValueError):
    """Datapack data NEST cannot take as a status."""


def read_status(nest_object: Any) -> list[dict]:
    """The status of every node or connection of `nest_object`, as a JSON-ready list of dicts."""
    count = len(nest_object)
    if count == 0:
        return []
    status = nest_object.get()
    if count == 1:
        return [to_json(status)]
    # With several elements, .get() gives one dict of per-element tuples (lists for connections).
    return [to_json({key: values[index] for key, values in status.items()}) for index in range(count)]


def write_status(nest_object: Any, data: Any) -> None:
    """Set the status of `nest_object` from datapack data (a dict, or a list of dicts)."""
    if data is None:
        return  # an empty datapack carries nothing to set
    if isinstance(data, dict):
        nest_object.set(data)
        return
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise StatusError(f"expected a status dict or a list of status dicts, got {_describe(data)}")
    count = len(nest_object)
    if len(data) not in (1, count):
        raise StatusError(f"expected 1 or {count} status dicts (one per element), got {len(data)}")
    nest_object.set(data)


def to_json(value: Any) -> Any:
    """`value` (a NEST status or part of one) as plain JSON types."""
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(item) for item in value]
    tolist = getattr(value, "tolist", None)  # numpy arrays and scalars
    if callable(tolist):
        return _array_to_json(value, tolist())
    return str(value)


def _array_to_json(array: Any, items: Any) -> Any:
    # Recorder events are long flat arrays: skip the element-wise walk when no element needs it.
    kind = getattr(getattr(array, "dtype", None), "kind", "")
    if getattr(array, "ndim", None) == 1:
        if kind and kind in "biu":
            return items
        if kind == "f" and all(map(math.isfinite, items)):
            return items
    return to_json(items)


def _describe(data: Any) -> str:
    text = repr(data)
    return f"{type(data).__name__} {text[:80]}{'...' if len(text) > 80 else ''}"
