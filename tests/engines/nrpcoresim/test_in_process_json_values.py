"""An in-process JSON engine gets exactly what the JSON protocol delivers: `json_copy` against the
real round trip, value by value."""

import enum
import json

import numpy as np
import pytest

from engines.datapacks import JsonDataPack
from engines.nrpcoresim.in_process.json_values import json_copy, tolist_default


class Level(enum.IntEnum):
    HIGH = 3


def _filled_object():
    datapack = JsonDataPack("a", "engine")
    datapack.data["x"] = 1
    datapack.data["y"] = [1, (2, 3)]
    return datapack.data


def _filled_array():
    datapack = JsonDataPack("a", "engine")
    datapack.data.append({"k": (1, 2)})
    return datapack.data


VALUES = {
    "scalars": [1, 1.5, "s", None, True, float("inf")],
    "nested": {"a": [1, 2, (3, 4)], "b": {"c": None}},
    "keys that are not strings": {1: "x", 2.5: True, None: 1},
    "a tuple": (1, 2),
    "a function-built object": _filled_object(),
    "a function-built array": _filled_array(),
    "an IntEnum": {"level": Level.HIGH},
    "numpy": {"array": np.arange(3), "scalar": np.float64(1.5), "list": [np.int64(3)]},
}


@pytest.mark.parametrize("value", VALUES.values(), ids=VALUES.keys())
def test_json_copy_is_the_round_trip(value):
    expected = json.loads(json.dumps(value, default=tolist_default))
    copied = json_copy(value, tolist_default)
    assert copied == expected and json.dumps(copied) == json.dumps(expected)


def test_json_copy_shares_nothing_with_the_value():
    value = {"list": [1, {"deep": 2}]}
    copied = json_copy(value)
    copied["list"][1]["deep"] = 3
    assert value == {"list": [1, {"deep": 2}]}


def test_json_copy_fails_as_the_wire_would():
    with pytest.raises(TypeError, match="Object of type ndarray is not JSON serializable"):
        json_copy({"array": np.arange(2)})  # the client sends without numpy's conversion
    looped = []
    looped.append(looped)
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_copy(looped)
