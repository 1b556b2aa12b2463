"""JsonDataPack payloads behave as nrp-core's NlohmannJson: a new datapack holds a JSON null that
becomes an object on item assignment and an array on append."""

import copy
import json

import numpy as np
import pytest

from engines.datapacks import JsonArray, JsonDataPack, JsonRawData, NlohmannJson


def new_datapack() -> JsonDataPack:
    return JsonDataPack("noise", "nest")


def test_a_new_datapack_holds_a_json_null_and_is_not_empty():
    datapack = new_datapack()

    assert isinstance(datapack.data, NlohmannJson)
    assert datapack.data.json_type() == "null"
    assert len(datapack.data) == 0
    assert str(datapack.data) == "null"
    assert datapack.data == None  # noqa: E711 (JSON null equals None, as the value it stands for)
    assert not datapack.isEmpty()


def test_a_datapack_built_empty_or_with_data_keeps_what_it_was_given():
    assert JsonDataPack("a", "e", empty=True).isEmpty()
    given = {"x": [1, 2]}
    datapack = JsonDataPack("a", "e", given)
    assert datapack.data is given


def test_item_assignment_makes_an_object():
    datapack = new_datapack()
    datapack.data["rate"] = 1.5
    datapack.data["label"] = "poisson"

    assert datapack.data.json_type() == "object"
    assert sorted(datapack.data.keys()) == ["label", "rate"]
    assert len(datapack.data) == 2
    assert datapack.data["rate"] == 1.5
    assert str(datapack.data) == '{"label":"poisson","rate":1.5}'
    assert json.loads(json.dumps(datapack.data)) == {"rate": 1.5, "label": "poisson"}


def test_append_makes_an_array_that_becomes_the_datapacks_data():
    datapack = new_datapack()
    held = datapack.data
    held.append({"rate": 10.0})
    held.append({"rate": 20.0})  # through the object read before the first append

    assert isinstance(datapack.data, JsonArray)
    assert datapack.data == [{"rate": 10.0}, {"rate": 20.0}]
    assert datapack.data.json_type() == held.json_type() == "array"
    assert len(datapack.data) == len(held) == 2
    assert held[1] == {"rate": 20.0}
    assert list(held) == datapack.data
    assert str(datapack.data) == str(held) == '[{"rate":10.0},{"rate":20.0}]'
    assert json.loads(json.dumps({"data": datapack.data})) == {"data": [{"rate": 10.0}, {"rate": 20.0}]}


def test_append_leaves_data_alone_when_the_function_assigned_something_else():
    datapack = new_datapack()
    held = datapack.data
    datapack.data = {"replaced": True}
    held.append(1)

    assert datapack.data == {"replaced": True}
    assert held == [1]


def test_numpy_values_and_tuples_are_stored_as_json():
    datapack = new_datapack()
    datapack.data["rates"] = np.array([1.5, 2.5], dtype="float32")
    datapack.data["count"] = np.int64(3)
    datapack.data["pair"] = (1, 2)

    assert datapack.data["rates"] == [1.5, 2.5]
    assert type(datapack.data["count"]) is int
    assert datapack.data["pair"] == [1, 2]
    assert json.loads(json.dumps(datapack.data)) == {"rates": [1.5, 2.5], "count": 3, "pair": [1, 2]}

    array = new_datapack()
    array.data.append(np.float64(0.25))
    array.data.append((3, 4))
    assert array.data == [0.25, [3, 4]]


def test_a_null_refuses_keys_and_reads_naming_the_datapack():
    datapack = new_datapack()
    with pytest.raises(AttributeError, match=r"'keys' cannot be used with json type 'null' "
                                             r"\(datapack 'noise' of engine 'nest'\)"):
        datapack.data.keys()
    with pytest.raises(IndexError, match=r"json type 'null' can't be accessed with \[\] \(datapack 'noise'"):
        datapack.data["rate"]


def test_an_object_refuses_append_and_reports_a_missing_key():
    datapack = new_datapack()
    datapack.data["rate"] = 1.0
    with pytest.raises(AttributeError, match=r"'append' may be called on array or null types only, called on "
                                             r"'object' \(datapack 'noise' of engine 'nest'\)"):
        datapack.data.append(2.0)
    with pytest.raises(KeyError, match="rates"):
        datapack.data["rates"]


def test_an_array_refuses_keys():
    datapack = new_datapack()
    datapack.data.append(1)
    with pytest.raises(AttributeError, match="'keys' cannot be used with json type 'array'"):
        datapack.data.keys()


def test_object_keys_must_be_strings():
    datapack = new_datapack()
    with pytest.raises(IndexError, match=r"object indices must be str, not int 0 \(datapack 'noise'"):
        datapack.data[0] = 1.0
    assert datapack.data.json_type() == "null"


def test_a_value_that_is_not_json_is_refused_naming_key_and_datapack():
    datapack = new_datapack()
    with pytest.raises(TypeError, match=r"key 'rate' \(datapack 'noise' of engine 'nest'\): "
                                        r"object is not a JSON value"):
        datapack.data["rate"] = object()
    with pytest.raises(TypeError, match="item 0: set is not a JSON value"):
        datapack.data.append({1, 2})


@pytest.mark.parametrize("fill", [None, "object", "array"])
def test_a_clone_is_deep_and_keeps_the_json_type(fill):
    datapack = new_datapack()
    if fill == "object":
        datapack.data["nested"] = {"a": [1]}
    elif fill == "array":
        datapack.data.append({"a": [1]})
    twin = datapack.clone()

    assert twin.data == datapack.data
    assert twin.data.json_type() == datapack.data.json_type()
    if fill is None:
        twin.data.append(1)  # the twin's null turns into the twin's array, not the original's
        assert twin.data == [1]
        assert datapack.data.json_type() == "null"
    else:
        inner = twin.data["nested"] if fill == "object" else twin.data[0]
        inner["a"].append(2)
        assert datapack.data == ({"nested": {"a": [1]}} if fill == "object" else [{"a": [1]}])


def test_copies_and_deep_copies_are_plain_values():
    datapack = new_datapack()
    datapack.data["a"] = [1]
    copied = copy.deepcopy(datapack.data)

    assert copied == {"a": [1]} and type(copied) is dict
    assert copy.copy(new_datapack().data) is None


def test_a_still_null_payload_goes_through_json_as_an_empty_object():
    # What the JSON engine client puts on the wire for a datapack a function returned unfilled.
    assert json.dumps({"data": new_datapack().data}) == '{"data": {}}'


def test_json_raw_data_starts_null_too():
    raw = JsonRawData()
    assert raw.data.json_type() == "null"
    raw.data.append(1)
    assert raw.data == [1]
    assert JsonRawData({"x": 1}).data == {"x": 1}
    with pytest.raises(AttributeError, match=r"called on 'object' \(JsonRawData\)"):
        other = JsonRawData()
        other.data["x"] = 1
        other.data.append(2)
