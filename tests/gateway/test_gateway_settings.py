"""The parts of running on a gateway that need no gateway: what reaches the kernel and what it
says when the shared storage is missing."""

import pytest

from kernel_ext.errors import SettingsError
from kernel_ext.settings import ServerSettings
from nrp_jupyter.server.kernel_environment import unreachable_broker_warning

pytestmark = pytest.mark.timeout(10)


def test_a_simulation_directory_missing_on_the_kernel_s_machine_points_at_shared_storage(tmp_path):
    missing = tmp_path / "not-shared" / "nrp.3.x"
    with pytest.raises(SettingsError) as raised:
        ServerSettings.from_environment({"KERNEL_NRP_SIMULATION_ID": "3",
                                         "KERNEL_NRP_SIMULATION_DIR": str(missing)})
    message = str(raised.value)
    assert message.startswith(f"KERNEL_NRP_SIMULATION_DIR: {missing} is not a directory on ")
    assert "storage both share" in message
    assert "docs/deployment.md" in message


def test_the_simulation_directory_wins_over_the_gateway_s_working_directory(tmp_path, monkeypatch):
    simulation_dir = tmp_path / "simulation"
    simulation_dir.mkdir()
    monkeypatch.chdir(tmp_path)  # where a gateway would have started the kernel
    settings = ServerSettings.from_environment({"KERNEL_NRP_SIMULATION_ID": "3",
                                                "KERNEL_NRP_SIMULATION_DIR": str(simulation_dir)})
    assert settings.config_path == simulation_dir / "simulation_config.json"


@pytest.mark.parametrize(("broker", "gateway_url", "warned"), [
    ("127.0.0.1:1883", "http://10.0.0.5:8888", True),
    ("localhost:1883", "https://gateway.example.org", True),
    ("[::1]:1883", "http://gateway:8888", True),
    ("127.0.0.1:1883", "http://127.0.0.1:8888", False),
    ("127.0.0.1:1883", "http://localhost:8888", False),
    ("mqtt.example.org:1883", "http://10.0.0.5:8888", False),
    ("", "http://10.0.0.5:8888", False),
])
def test_a_loopback_broker_with_a_remote_gateway_is_warned_about(broker, gateway_url, warned):
    warning = unreachable_broker_warning(broker, gateway_url)
    assert (warning is not None) == warned
    if warned:
        assert broker in warning and "NrpJupyterApp.mqtt_broker" in warning
