"""``-o KEY=VALUE`` overrides: parsing, splitting and applying them to a config."""

import pytest

from engines.nrpcoresim.config import apply_overrides, parse_override, split_assignments
from engines.errors import ConfigError


def config() -> dict:
    return {
        "SimulationName": "x",
        "SimulationTimeout": 1,
        "EngineConfigs": [
            {"EngineName": "python_1", "EngineType": "python_json", "Id": 7, "Enabled": True},
            {"EngineName": "python_2", "EngineType": "python_grpc", "Id": 8, "Enabled": False},
        ],
        "DataPackProcessingFunctions": [
            {"Name": "tf_1", "FileName": "tf_1.py"},
            {"Name": "tf_2", "FileName": "tf_2.py"},
        ],
    }


@pytest.mark.parametrize(("text", "segments", "value"), [
    ('SimulationName="x"', ["SimulationName"], "x"),
    ("SimulationTimeout=5", ["SimulationTimeout"], 5),
    ("EngineConfigs.1.EngineTimestep=0.02", ["EngineConfigs", "1", "EngineTimestep"], 0.02),
    ('EngineProcStartParams=["-a","b"]', ["EngineProcStartParams"], ["-a", "b"]),
    ('EngineExtraConfigs={"a": {"b": null}}', ["EngineExtraConfigs"], {"a": {"b": None}}),
    ("EngineConfigs.EngineName:python_2.Visualizer=false",
     ["EngineConfigs", "EngineName:python_2", "Visualizer"], False),
    ('Functions.FileName:"tf_1.py".IsActive=true', ["Functions", 'FileName:"tf_1.py"', "IsActive"], True),
    (' SimulationTimeout = 3 ', ["SimulationTimeout"], 3),
    ('SimulationName="a=b"', ["SimulationName"], "a=b"),
])
def test_parse_override(text, segments, value):
    assert parse_override(text) == (segments, value)


def test_split_assignments_keeps_commas_inside_quotes_and_brackets():
    argument = 'A=1,B="x,y",C=[1,2],D={"k":[3,4],"l":"m,n"}, E.F:"a,b".G=true,'
    assert split_assignments(argument) == [
        'A=1', 'B="x,y"', 'C=[1,2]', 'D={"k":[3,4],"l":"m,n"}', 'E.F:"a,b".G=true']


def test_escaped_quote_does_not_end_a_string():
    assert split_assignments(r'A="say \"hi, there\"",B=2') == [r'A="say \"hi, there\""', "B=2"]


def test_index_selector_and_new_key():
    target = config()
    apply_overrides(target, [
        "EngineConfigs.1.EngineTimestep=0.02",
        "EngineConfigs.EngineName:python_1.EngineTimestep=0.05",
        'SimulationDescription="new key"',
    ])
    assert target["EngineConfigs"][1]["EngineTimestep"] == 0.02
    assert target["EngineConfigs"][0]["EngineTimestep"] == 0.05
    assert target["SimulationDescription"] == "new key"


def test_several_assignments_in_one_argument_apply_in_order():
    target = config()
    apply_overrides(target, ['SimulationName="a,b",SimulationTimeout=2', "SimulationTimeout=3"])
    assert (target["SimulationName"], target["SimulationTimeout"]) == ("a,b", 3)


def test_a_single_string_is_one_argument():
    target = config()
    apply_overrides(target, "SimulationTimeout=9")
    assert target["SimulationTimeout"] == 9


def test_selector_values_compare_as_json_for_non_strings():
    target = config()
    apply_overrides(target, ["EngineConfigs.Id:8.Marked=1", "EngineConfigs.Enabled:true.Marked=2"])
    assert [engine.get("Marked") for engine in target["EngineConfigs"]] == [2, 1]


def test_quoted_selector_value_may_hold_dots():
    target = config()
    apply_overrides(target, ['DataPackProcessingFunctions.FileName:"tf_2.py".IsActive=false'])
    assert target["DataPackProcessingFunctions"][1] == {
        "Name": "tf_2", "FileName": "tf_2.py", "IsActive": False}
    assert "IsActive" not in target["DataPackProcessingFunctions"][0]


def test_last_segment_replaces_a_list_entry():
    target = config()
    apply_overrides(target, ['DataPackProcessingFunctions.1={"Name": "tf_3", "FileName": "tf_3.py"}',
                             'DataPackProcessingFunctions.Name:tf_1={"Name": "tf_0", "FileName": "tf_0.py"}'])
    assert [f["Name"] for f in target["DataPackProcessingFunctions"]] == ["tf_0", "tf_3"]


def test_a_digit_segment_is_a_key_inside_an_object():
    target = {"Table": {"0": "zero"}}
    apply_overrides(target, ['Table.0="nil"'])
    assert target == {"Table": {"0": "nil"}}


@pytest.mark.parametrize(("override", "path", "reason"), [
    ("EngineConfigs.Enabled:false.EngineConfigs.x=1", "EngineConfigs[1].EngineConfigs",
     "no key 'EngineConfigs' in EngineConfigs[1] (only the last segment may name a new key)"),
    ("EngineConfigs.-1.EngineTimestep=1", "EngineConfigs[-1]",
     "segment '-1' is neither an index nor a Key:Value selector, and EngineConfigs is a list"),
    ("EngineConfigs.EngineTimestep=1", "EngineConfigs[EngineTimestep]",
     "segment 'EngineTimestep' is neither an index nor a Key:Value selector, and EngineConfigs is a list"),
    ('DataPackProcessingFunctions.FileName:"tf_1.py"x.IsActive=true',
     'DataPackProcessingFunctions[FileName:"tf_1.py"x]',
     "selector 'FileName:\"tf_1.py\"x': no entry of DataPackProcessingFunctions has FileName "
     "equal to '\"tf_1.py\"x'"),
    ("SimulationName.first.second=1", "SimulationName.first",
     "segment 'first' goes through SimulationName, which is a string, not an object or a list"),
    ("EngineConfigs..EngineTimestep=1", "EngineConfigs..EngineTimestep",
     "key 'EngineConfigs..EngineTimestep' has an empty segment"),
    ("SimulationTimeout=Infinity", "SimulationTimeout", None),
])
def test_override_errors(override, path, reason):
    target = config()
    with pytest.raises(ConfigError) as caught:
        apply_overrides(target, [override], file="sim.json")
    assert (caught.value.file, caught.value.path) == ("sim.json", path)
    assert caught.value.reason.startswith(f"override {override!r}: ")
    if reason:
        assert caught.value.reason == f"override {override!r}: {reason}"
    else:
        assert "is not valid JSON" in caught.value.reason


def test_ambiguous_selector_is_an_error():
    target = config()
    target["EngineConfigs"][1]["EngineType"] = "python_json"
    with pytest.raises(ConfigError) as caught:
        apply_overrides(target, ["EngineConfigs.EngineType:python_json.EngineTimestep=1"])
    assert caught.value.path == "EngineConfigs[EngineType:python_json]"
    assert caught.value.reason.endswith("matches entries [0, 1] of EngineConfigs; use an index")
    assert all("EngineTimestep" not in engine for engine in target["EngineConfigs"])
