"""Loading, validating and completing nrp-core 1.4 simulation configs."""

import json
import subprocess
import sys

import pytest

from engines.nrpcoresim.config import (
    ENGINE_TYPES,
    argument_passing_policy,
    load_simulation_config,
    register_engine_schema,
    validate_simulation_config,
)
from engines.nrpcoresim.config import registry
from engines.errors import ConfigError


def tf_exchange() -> dict:
    """Two python_json engines and one transceiver function, as in nrp-core's tf_exchange example."""
    return {
        "SimulationName": "tf_exchange",
        "SimulationDescription": "engine 1 publishes its time, tf_1 forwards it to engine 2",
        "SimulationTimeout": 1,
        "EngineConfigs": [
            {"EngineType": "python_json", "EngineName": "python_1", "PythonFileName": "engine_1.py"},
            {"EngineType": "python_json", "EngineName": "python_2", "PythonFileName": "engine_2.py"},
        ],
        "DataPackProcessingFunctions": [{"Name": "tf_1", "FileName": "tf_1.py"}],
    }


@pytest.fixture
def write_config(tmp_path):
    def write(config, name="simulation_config.json"):
        path = tmp_path / name
        path.write_text(config if isinstance(config, str) else json.dumps(config, indent=4))
        return path

    return write


# --- valid configs ---------------------------------------------------------------------------------

def test_tf_exchange_loads_with_top_level_and_engine_defaults(write_config):
    config = load_simulation_config(write_config(tf_exchange()))

    assert config["SimulationName"] == "tf_exchange"
    assert config["SimulationDescription"].startswith("engine 1")
    assert config["SimulationTimeout"] == 1
    assert config["SimulationLoop"] == "FTILoop"
    assert config["DataPackProcessor"] == "tf"
    assert config["ProcessLauncherType"] == "Basic"
    assert config["ExternalProcesses"] == []
    assert config["ComputationalGraph"] == []
    assert config["FunctionArgumentsPassingMethod"] == "value"
    assert config["DataPackProcessingFunctions"] == [
        {"Name": "tf_1", "FileName": "tf_1.py", "IsActive": True}]
    assert "StatusFunction" not in config

    engine = config["EngineConfigs"][1]
    assert engine == {
        "EngineType": "python_json",
        "EngineName": "python_2",
        "PythonFileName": "engine_2.py",
        "EngineProcCmd": "nrp-python-json-engine",
        "EngineProcStartParams": [],
        "EngineEnvParams": [],
        "EngineLaunchCommand": {"LaunchType": "BasicFork"},
        "EngineTimestep": 0.01,
        "EngineCommandTimeout": 0.0,
        "EngineExtraConfigs": {},
        "ServerAddress": "localhost:9002",
        "RegistrationServerAddress": "localhost:9001",
        "ServerOptions": "",
    }


def test_missing_simulation_timeout_defaults_to_zero(write_config):
    config = tf_exchange()
    del config["SimulationTimeout"]
    assert load_simulation_config(write_config(config))["SimulationTimeout"] == 0


@pytest.mark.parametrize(("engine", "expected"), [
    ({"EngineType": "python_grpc", "PythonFileName": "e.py"},
     {"EngineProcCmd": "nrp-python-grpc-engine", "ServerAddress": "localhost:9004",
      "ProtobufPackages": ["EngineTest"], "EngineTimestep": 0.01}),
    ({"EngineType": "datatransfer_grpc_engine", "dumps": [{"name": "datapack1", "network": True}]},
     {"EngineProcCmd": "nrp-datatransfer-engine", "ServerAddress": "localhost:9004",
      "ProtobufPackages": ["Dump"], "MQTTBroker": "localhost:1883", "dataDirectory": "data",
      "simulationID": "0", "streamDataPackMessage": True,
      "dumps": [{"name": "datapack1", "network": True, "file": False}]}),
    ({"EngineType": "py_sim", "PythonFileName": "s.py", "Simulator": "Opensim", "WorldFileName": "arm.osim"},
     {"EngineProcCmd": "nrp-py-sim-engine", "Visualizer": False, "ServerOptions": "",
      "ServerAddress": "localhost:9002", "RegistrationServerAddress": "localhost:9001"}),
    ({"EngineType": "nest_json", "NestInitFileName": "brain.py"},
     {"EngineProcCmd": "nrp-nest-json-engine", "NestRNGSeed": 0, "ServerAddress": "localhost:9002",
      "EngineLaunchCommand": {"LaunchType": "BasicFork"}}),
], ids=lambda value: value.get("EngineType", ""))
def test_each_engine_type_gets_its_defaults(write_config, engine, expected):
    config = {"EngineConfigs": [{"EngineName": "e", **engine}]}
    loaded = load_simulation_config(write_config(config))["EngineConfigs"][0]
    assert {key: loaded[key] for key in expected} == expected


def test_given_values_are_kept_over_defaults(write_config):
    config = tf_exchange()
    config["EngineConfigs"][0].update(EngineTimestep=0.02, EngineProcCmd="my-engine",
                                      ServerAddress="0.0.0.0:1")
    config["EngineConfigs"].append({"EngineType": "datatransfer_grpc_engine", "EngineName": "dt",
                                    "ProtobufPackages": ["Gazebo"], "simulationID": "42"})
    config["DataPackProcessingFunctions"][0]["IsActive"] = False
    config.update(SimulationLoop="EventLoop", DataPackProcessor="cg")

    loaded = load_simulation_config(write_config(config))

    first, _, transfer = loaded["EngineConfigs"]
    assert (first["EngineTimestep"], first["EngineProcCmd"], first["ServerAddress"]) == (
        0.02, "my-engine", "0.0.0.0:1")
    assert (transfer["ProtobufPackages"], transfer["simulationID"]) == (["Gazebo"], "42")
    assert loaded["DataPackProcessingFunctions"][0]["IsActive"] is False
    assert (loaded["SimulationLoop"], loaded["DataPackProcessor"]) == ("EventLoop", "cg")


def test_launch_commands_get_the_defaults_of_their_launch_type(write_config):
    config = tf_exchange()
    config["EngineConfigs"][0]["EngineLaunchCommand"] = {"LaunchType": "DockerLauncher", "ImageName": "nrp:1"}
    config["EngineConfigs"][1]["EngineLaunchCommand"] = {}
    config["ExternalProcesses"] = [{"ProcCmd": "roscore"}]

    loaded = load_simulation_config(write_config(config))

    assert loaded["EngineConfigs"][0]["EngineLaunchCommand"] == {
        "LaunchType": "DockerLauncher", "ImageName": "nrp:1",
        "DockerDaemonAddress": "unix:///var/run/docker.sock", "UploadFolder": "", "PrintLogs": True,
    }
    assert loaded["EngineConfigs"][1]["EngineLaunchCommand"] == {"LaunchType": "BasicFork"}
    assert loaded["ExternalProcesses"] == [{"ProcCmd": "roscore", "ProcStartParams": [], "ProcEnvParams": [],
                                            "LaunchCommand": {"LaunchType": "BasicFork"}}]


def test_optional_sections_are_completed_only_when_present(write_config):
    absent = load_simulation_config(write_config(tf_exchange(), "absent.json"))
    assert not {"EventLoop", "ROSNode", "MQTTNode", "StatusFunction"} & absent.keys()

    config = tf_exchange()
    config.update(EventLoop={"Timeout": 5}, ROSNode={}, MQTTNode={"ClientName": "me"},
                  StatusFunction={"Name": "status", "FileName": "status.py"})
    present = load_simulation_config(write_config(config, "present.json"))
    assert present["EventLoop"] == {"Timeout": 5, "Timestep": 0.01, "TimestepWarnThreshold": 0.001}
    assert present["ROSNode"] == {"NodeName": "nrp_core"}
    assert present["MQTTNode"] == {"MQTTBroker": "localhost:1883", "ClientName": "me"}
    assert present["StatusFunction"] == {"Name": "status", "FileName": "status.py", "IsActive": True}


def test_simulation_timestep_and_unknown_keys_are_kept(write_config):
    config = tf_exchange()
    config.update(SimulationTimestep=0.02, MyOwnKey={"a": 1})
    config["EngineConfigs"][0]["MyEngineKey"] = [1, 2]
    loaded = load_simulation_config(write_config(config))
    assert loaded["SimulationTimestep"] == 0.02
    assert loaded["MyOwnKey"] == {"a": 1}
    assert loaded["EngineConfigs"][0]["MyEngineKey"] == [1, 2]


def test_defaults_are_fresh_objects_for_every_engine_and_every_load(write_config):
    path = write_config(tf_exchange())
    first = load_simulation_config(path)
    first["EngineConfigs"][0]["EngineProcStartParams"].append("--changed")
    first["EngineConfigs"][0]["EngineLaunchCommand"]["LaunchType"] = "EmptyLaunchCommand"

    assert first["EngineConfigs"][1]["EngineProcStartParams"] == []
    second = load_simulation_config(path)
    assert second["EngineConfigs"][0]["EngineProcStartParams"] == []
    assert second["EngineConfigs"][0]["EngineLaunchCommand"] == {"LaunchType": "BasicFork"}


def test_validate_returns_a_completed_copy_and_is_idempotent():
    original = tf_exchange()
    completed = validate_simulation_config(original)

    assert original == tf_exchange()
    assert completed["EngineConfigs"][0]["EngineTimestep"] == 0.01
    assert validate_simulation_config(completed) == completed


def test_load_applies_overrides_before_defaults(write_config):
    path = write_config(tf_exchange())
    loaded = load_simulation_config(path, [
        "EngineConfigs.EngineName:python_2.EngineTimestep=0.02",
        'SimulationName="renamed",EngineConfigs.0.EngineProcStartParams=["-a","b"]',
    ])
    assert loaded["SimulationName"] == "renamed"
    assert loaded["EngineConfigs"][1]["EngineTimestep"] == 0.02
    assert loaded["EngineConfigs"][0]["EngineTimestep"] == 0.01
    assert loaded["EngineConfigs"][0]["EngineProcStartParams"] == ["-a", "b"]
    assert json.loads(path.read_text()) == tf_exchange()


# --- argument passing policy ----------------------------------------------------------------------

@pytest.mark.parametrize(("keys", "expected"), [
    ({}, "value"),
    ({"FunctionArgumentsPassingMethod": "reference"}, "reference"),
    ({"DataPackPassingPolicy": "reference"}, "reference"),
    ({"DataPackPassingPolicy": "value", "FunctionArgumentsPassingMethod": "reference"}, "value"),
    ({"DataPackPassingPolicy": "reference", "FunctionArgumentsPassingMethod": "value"}, "reference"),
])
def test_argument_passing_policy(keys, expected):
    config = {**tf_exchange(), **keys}
    assert argument_passing_policy(config) == expected
    completed = validate_simulation_config(config)
    assert completed["DataPackPassingPolicy"] == completed["FunctionArgumentsPassingMethod"] == expected


# --- malformed configs and overrides --------------------------------------------------------------

def _set(path, value):
    """A mutation of tf_exchange() that sets the value at a list of keys/indexes."""
    def mutate(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return mutate


def _delete(path):
    def mutate(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return mutate


MALFORMED = {
    "missing EngineName": (
        _delete(["EngineConfigs", 1, "EngineName"]), (),
        "EngineConfigs[1].EngineName", "missing required key 'EngineName'"),
    "missing EngineType": (
        _delete(["EngineConfigs", 0, "EngineType"]), (),
        "EngineConfigs[0].EngineType", "missing required key 'EngineType'"),
    "EngineTimestep of the wrong type": (
        _set(["EngineConfigs", 1, "EngineTimestep"], "abc"), (),
        "EngineConfigs[1].EngineTimestep", "'abc' is not of type 'number'"),
    "EngineTimestep zero": (
        _set(["EngineConfigs", 0, "EngineTimestep"], 0), (),
        "EngineConfigs[0].EngineTimestep", "0 is less than or equal to the minimum of 0"),
    "unknown EngineType": (
        _set(["EngineConfigs", 1, "EngineType"], "gazebo_grpc"), (),
        "EngineConfigs[1].EngineType",
        "unknown EngineType 'gazebo_grpc'; known types: datatransfer_grpc_engine, nest_json, py_sim, "
        "python_grpc, python_json"),
    "SimulationTimeout a string": (
        _set(["SimulationTimeout"], "10"), (),
        "SimulationTimeout", "'10' is not of type 'number'"),
    "function without FileName": (
        _delete(["DataPackProcessingFunctions", 0, "FileName"]), (),
        "DataPackProcessingFunctions[0].FileName", "missing required key 'FileName'"),
    "IsActive not a boolean": (
        _set(["DataPackProcessingFunctions", 0, "IsActive"], "yes"), (),
        "DataPackProcessingFunctions[0].IsActive", "'yes' is not of type 'boolean'"),
    "EngineConfigs not a list": (
        _set(["EngineConfigs"], {"EngineName": "python_1"}), (),
        "EngineConfigs", "{'EngineName': 'python_1'} is not of type 'array'"),
    "unknown LaunchType": (
        _set(["EngineConfigs", 0, "EngineLaunchCommand"], {"LaunchType": "Slurm"}), (),
        "EngineConfigs[0].EngineLaunchCommand.LaunchType",
        "'Slurm' is not one of ['BasicFork', 'DockerLauncher', 'EmptyLaunchCommand', 'InProcess']"),
    "DockerLauncher without ImageName": (
        _set(["EngineConfigs", 0, "EngineLaunchCommand"], {"LaunchType": "DockerLauncher"}), (),
        "EngineConfigs[0].EngineLaunchCommand.ImageName", "missing required key 'ImageName'"),
    "python_json without PythonFileName": (
        _delete(["EngineConfigs", 1, "PythonFileName"]), (),
        "EngineConfigs[1].PythonFileName", "missing required key 'PythonFileName'"),
    "unknown SimulationLoop": (
        _set(["SimulationLoop"], "FTI"), (),
        "SimulationLoop", "'FTI' is not one of ['FTILoop', 'EventLoop']"),
    "bad DataPackPassingPolicy": (
        _set(["DataPackPassingPolicy"], "copy"), (),
        "DataPackPassingPolicy", "'copy' is not one of ['value', 'reference']"),
    "duplicate EngineName": (
        _set(["EngineConfigs", 1, "EngineName"], "python_1"), (),
        "EngineConfigs[1].EngineName", "duplicate EngineName 'python_1', also used by EngineConfigs[0]"),
    "EngineEnvParams entry not a string": (
        _set(["EngineConfigs", 0, "EngineEnvParams"], ["A=1", 2]), (),
        "EngineConfigs[0].EngineEnvParams[1]", "2 is not of type 'string'"),
    "override makes a value invalid": (
        None, ['EngineConfigs.1.EngineTimestep="fast"'],
        "EngineConfigs[1].EngineTimestep", "'fast' is not of type 'number'"),
    "override without '='": (
        None, ["SimulationTimeout"],
        None, "override 'SimulationTimeout' has no '=': write KEY=VALUE"),
    "override with an empty key": (
        None, ["=5"],
        None, "override '=5' has an empty key"),
    "override with bad JSON": (
        None, ["SimulationName=X"],
        "SimulationName",
        "override 'SimulationName=X': value 'X' is not valid JSON (Expecting value); "
        'strings need quotes, e.g. SimulationName="X"'),
    "override index out of range": (
        None, ["EngineConfigs.2.EngineTimestep=0.1"],
        "EngineConfigs[2]",
        "override 'EngineConfigs.2.EngineTimestep=0.1': segment '2': index 2 is out of range, "
        "EngineConfigs has 2 entries"),
    "override selector matching nothing": (
        None, ["EngineConfigs.EngineName:python_3.EngineTimestep=0.1"],
        "EngineConfigs[EngineName:python_3]",
        "override 'EngineConfigs.EngineName:python_3.EngineTimestep=0.1': selector 'EngineName:python_3': "
        "no entry of EngineConfigs has EngineName equal to 'python_3'"),
    "override through a scalar": (
        None, ["SimulationTimeout.Seconds=3"],
        "SimulationTimeout.Seconds",
        "override 'SimulationTimeout.Seconds=3': segment 'Seconds' goes through SimulationTimeout, "
        "which is a number, not an object or a list"),
    "override through a key that only a default creates": (
        None, ['EngineConfigs.0.EngineLaunchCommand.LaunchType="EmptyLaunchCommand"'],
        "EngineConfigs[0].EngineLaunchCommand",
        "override 'EngineConfigs.0.EngineLaunchCommand.LaunchType=\"EmptyLaunchCommand\"': no key "
        "'EngineLaunchCommand' in EngineConfigs[0] (only the last segment may name a new key)"),
}


@pytest.mark.parametrize(("mutate", "overrides", "path", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_config_names_file_key_and_reason(write_config, mutate, overrides, path, reason):
    config = tf_exchange()
    if mutate:
        mutate(config)
    config_file = write_config(config)

    with pytest.raises(ConfigError) as caught:
        load_simulation_config(config_file, overrides)

    assert (caught.value.file, caught.value.path, caught.value.reason) == (str(config_file), path, reason)
    assert str(config_file) in str(caught.value)


def test_json_syntax_error_names_line_and_column(write_config):
    config_file = write_config('{\n  "SimulationTimeout": 1,\n  "EngineConfigs": [\n  ]\n  "X": 2\n}\n')
    with pytest.raises(ConfigError) as caught:
        load_simulation_config(config_file)
    assert caught.value.file == str(config_file)
    assert caught.value.path is None
    assert caught.value.reason == "invalid JSON: Expecting ',' delimiter at line 5 column 3"


def test_missing_file_says_so(tmp_path):
    missing = tmp_path / "nowhere" / "simulation_config.json"
    with pytest.raises(ConfigError) as caught:
        load_simulation_config(missing)
    assert (caught.value.file, caught.value.reason) == (str(missing), "config file not found")


def test_top_level_not_an_object(write_config):
    config_file = write_config("[1, 2]")
    with pytest.raises(ConfigError) as caught:
        load_simulation_config(config_file)
    assert (caught.value.file, caught.value.path, caught.value.reason) == (
        str(config_file), None, "[1, 2] is not of type 'object'")


def test_in_memory_config_errors_have_no_file():
    config = tf_exchange()
    del config["EngineConfigs"][0]["PythonFileName"]
    with pytest.raises(ConfigError) as caught:
        validate_simulation_config(config)
    assert (caught.value.file, caught.value.path) == (None, "EngineConfigs[0].PythonFileName")
    assert str(caught.value) == "EngineConfigs[0].PythonFileName: missing required key 'PythonFileName'"


# --- engine types and schemas ---------------------------------------------------------------------

def test_known_engine_types_are_read_only():
    assert set(ENGINE_TYPES) == {
        "python_json", "python_grpc", "py_sim", "datatransfer_grpc_engine", "nest_json"}
    with pytest.raises(TypeError):
        ENGINE_TYPES["gazebo_grpc"] = "gazebo_grpc.json"


@pytest.fixture
def custom_engine_type(tmp_path):
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "allOf": [{"$ref": "engine_grpc.json"}],
        "required": ["WorldFile"],
        "properties": {
            "WorldFile": {"type": "string"},
            "EngineProcCmd": {"type": "string", "default": "my-sim"},
            "ProtobufPackages": {"type": "array", "default": ["Gazebo"]},
        },
    }
    schema_file = tmp_path / "my_sim.json"
    schema_file.write_text(json.dumps(schema))
    register_engine_schema("my_sim", schema_file)
    yield "my_sim"
    registry._engine_schemas.pop("my_sim")


def test_a_registered_engine_type_is_validated_and_completed(custom_engine_type):
    config = {"EngineConfigs": [
        {"EngineName": "sim", "EngineType": custom_engine_type, "WorldFile": "w.sdf"}]}
    engine = validate_simulation_config(config)["EngineConfigs"][0]
    assert (engine["EngineProcCmd"], engine["ProtobufPackages"]) == ("my-sim", ["Gazebo"])
    assert (engine["ServerAddress"], engine["EngineTimestep"]) == ("localhost:9004", 0.01)

    del config["EngineConfigs"][0]["WorldFile"]
    with pytest.raises(ConfigError) as caught:
        validate_simulation_config(config)
    assert (caught.value.path, caught.value.reason) == (
        "EngineConfigs[0].WorldFile", "missing required key 'WorldFile'")


def test_registering_a_missing_schema_file_fails(tmp_path):
    with pytest.raises(ConfigError) as caught:
        register_engine_schema("ghost", tmp_path / "ghost.json")
    assert caught.value.reason == "schema file not found"
    assert "ghost" not in ENGINE_TYPES


def test_shipped_schemas_are_valid_draft_07():
    from jsonschema import Draft7Validator

    files = sorted(registry.SCHEMA_DIR.glob("*.json"))
    expected = {"simulation", "engine_base", "engine_json", "engine_grpc", *ENGINE_TYPES}
    assert {path.stem for path in files} >= expected
    for path in files:
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "http://json-schema.org/draft-07/schema#", path.name
        Draft7Validator.check_schema(schema)


def test_each_validator_is_built_once():
    path = registry.engine_schema_path("python_json")
    assert registry.validator_for(path) is registry.validator_for(path)


def test_importing_the_package_does_not_import_jsonschema():
    code = "import sys, engines.nrpcoresim.config; print('jsonschema' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
