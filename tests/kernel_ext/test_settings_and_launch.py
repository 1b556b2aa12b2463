"""KERNEL_NRP_* settings, and the -o overrides NRPCoreSim gets for datatransfer engines."""

import pytest

from engines.nrpcoresim.config import apply_overrides, split_assignments
from kernel_ext.core_launch import datatransfer_overrides, describe_exit, read_config
from kernel_ext.errors import SettingsError
from kernel_ext.settings import ServerSettings

pytestmark = pytest.mark.timeout(10)


def test_settings_from_the_environment_with_defaults(tmp_path):
    settings = ServerSettings.from_environment({"KERNEL_NRP_SIMULATION_ID": "12",
                                                "KERNEL_NRP_SIMULATION_DIR": str(tmp_path)})
    assert settings.simulation_id == "12"
    assert settings.config_path == tmp_path / "simulation_config.json"
    assert settings.script_path == tmp_path / "main_script.py"
    assert (settings.mqtt_prefix, settings.mqtt_broker, settings.status_interval) == ("", "", 1.0)


@pytest.mark.parametrize(("variable", "value", "message"), [
    ("KERNEL_NRP_SIMULATION_ID", "", "SIMULATION_ID"),
    ("KERNEL_NRP_SIMULATION_ID", "abc", "SIMULATION_ID"),
    ("KERNEL_NRP_SIMULATION_DIR", "/no/such/dir", "not a directory"),
    ("KERNEL_NRP_STATUS_INTERVAL", "0", "STATUS_INTERVAL"),
    ("KERNEL_NRP_STATUS_INTERVAL", "soon", "STATUS_INTERVAL"),
])
def test_bad_settings_name_the_variable(tmp_path, variable, value, message):
    environ = {"KERNEL_NRP_SIMULATION_ID": "1", "KERNEL_NRP_SIMULATION_DIR": str(tmp_path), variable: value}
    with pytest.raises(SettingsError, match=message):
        ServerSettings.from_environment(environ)


CONFIG = {
    "SimulationTimeout": 1,
    "EngineConfigs": [
        {"EngineType": "python_json", "EngineName": "a"},
        {"EngineType": "datatransfer_grpc_engine", "EngineName": "dt1"},
        {"EngineType": "datatransfer_grpc_engine", "EngineName": "dt2", "MQTTBroker": "old:1"},
    ],
}


def overridden(overrides):
    # The arguments go through nrp-client's split on spaces, then NRPCoreSim's parser.
    args = " ".join(f"-o {override}" for override in overrides).split(" ")
    assert args[0::2] == ["-o"] * len(overrides)
    config = {"EngineConfigs": [dict(engine) for engine in CONFIG["EngineConfigs"]]}
    apply_overrides(config, [assignment for arg in args[1::2] for assignment in split_assignments(arg)])
    return config["EngineConfigs"]


def test_every_datatransfer_engine_gets_the_simulation_id_prefix_and_broker():
    engines = overridden(datatransfer_overrides(CONFIG, "7", "nrp prefix, odd", "mqtt.host:1883"))
    assert engines[0] == CONFIG["EngineConfigs"][0]
    for engine in engines[1:]:
        assert (engine["simulationID"], engine["MQTTPrefix"], engine["MQTTBroker"]) == (
            "7", "nrp prefix, odd", "mqtt.host:1883")


def test_without_a_broker_setting_the_configs_broker_is_kept():
    overrides = datatransfer_overrides(CONFIG, "7", "", "")
    assert overrides == ['EngineConfigs.1.simulationID="7"', 'EngineConfigs.1.MQTTPrefix=""',
                         'EngineConfigs.2.simulationID="7"', 'EngineConfigs.2.MQTTPrefix=""']
    assert overridden(overrides)[2]["MQTTBroker"] == "old:1"
    assert datatransfer_overrides({"EngineConfigs": [{"EngineType": "python_json"}]}, "7", "p", "b") == []


def test_read_config_names_the_file_when_it_is_not_json(tmp_path):
    path = tmp_path / "simulation_config.json"
    path.write_text("{nope")
    with pytest.raises(Exception, match="simulation_config.json.*invalid JSON"):
        read_config(path)


def test_exit_descriptions():
    assert describe_exit(-9) == "was killed by SIGKILL"
    assert describe_exit(2) == "exited with code 2"
