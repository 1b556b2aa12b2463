"""ServerAddress of an engine started elsewhere: required, HOST:PORT, checked before anything starts."""

import json

import pytest

from engines.nrpcoresim.config import validate_simulation_config
from engines.errors import ConfigError
from tests.engines.nrpcoresim.remote.conftest import EXPERIMENT, run_nrpcoresim


def remote_config(**engine_changes) -> dict:
    config = json.loads((EXPERIMENT / "simulation_config.json").read_text())
    config["EngineConfigs"][1].update(engine_changes)
    return config


def test_a_missing_server_address_is_a_config_error_naming_the_key():
    config = remote_config()
    del config["EngineConfigs"][1]["ServerAddress"]

    with pytest.raises(ConfigError) as caught:
        validate_simulation_config(config, file="simulation_config.json")

    assert caught.value.path == "EngineConfigs[1].ServerAddress"
    assert "missing required key 'ServerAddress'" in caught.value.reason
    assert "'python_2'" in caught.value.reason and "EmptyLaunchCommand" in caught.value.reason


@pytest.mark.parametrize(("address", "why"), [
    ("", "it is empty"),
    ("192.0.2.2", "no port after the last ':'"),
    ("192.0.2.2:http", "no port after the last ':'"),
    (":9104", "no valid host"),
    ("192.0.2.2:0", "port 0 is not between 1 and 65535"),
    ("192.0.2.2:70000", "port 70000 is not between 1 and 65535"),
    ("fd00::2:9104", "IPv6 host must be written in brackets"),
    ("[fd00::2:9104", "IPv6 host must be written in brackets"),
    ("http://host:9104", "without a scheme or a path"),
    ("my host:9104", "no valid host"),
])
def test_a_malformed_server_address_is_a_config_error_saying_why(address, why):
    with pytest.raises(ConfigError) as caught:
        validate_simulation_config(remote_config(ServerAddress=address), file="simulation_config.json")

    assert caught.value.path == "EngineConfigs[1].ServerAddress"
    assert why in caught.value.reason and repr(address) in caught.value.reason


@pytest.mark.parametrize("address", ["engines.example.org:9104", "192.0.2.2:1", "[fd00::2]:65535",
                                     "0.0.0.0:9104"])
def test_well_formed_addresses_pass(address):
    config = validate_simulation_config(remote_config(ServerAddress=address))
    assert config["EngineConfigs"][1]["ServerAddress"] == address


def test_launched_engines_keep_nrp_cores_default_address():
    config = remote_config(EngineLaunchCommand={"LaunchType": "BasicFork"})
    del config["EngineConfigs"][1]["ServerAddress"]

    assert validate_simulation_config(config)["EngineConfigs"][1]["ServerAddress"] == "localhost:9004"


@pytest.mark.timeout(60)
def test_nrpcoresim_refuses_it_before_any_engine_is_contacted(tmp_path, core_env):
    result = run_nrpcoresim("-c", str(EXPERIMENT / "simulation_config.json"),
                            "-o", 'EngineConfigs.EngineName:python_1.ServerAddress="192.0.2.2"',
                            cwd=tmp_path, env=core_env)

    assert result.returncode == 2
    assert "EngineConfigs[0].ServerAddress" in result.stderr and "not HOST:PORT" in result.stderr
    assert "nothing answers" not in result.stderr
