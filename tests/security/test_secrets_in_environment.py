"""The server's token never reaches an experiment: not the kernel's environment, not NRPCoreSim's,
not the engines'.

The server runs as deployments often start it, with JUPYTER_TOKEN in its environment, and with a
variable that merely carries the token's value (a URL with ?token=). A main script writes the
kernel's os.environ to a file; NRPCoreSim's and the engines' environments are read from
/proc/<pid>/environ while the simulation is paused.
"""

import json
import uuid

import psutil
import pytest

from tests.conftest import EXPERIMENTS, TEST_MARKER_VARIABLE, assert_no_core_processes, core_processes
from tests.live_server import TOKEN, LiveServer, experiments_root

pytestmark = pytest.mark.timeout(180)

LEAKY_VARIABLES = {"JUPYTER_TOKEN": TOKEN, "NRP_TEST_SERVICE_URL": f"http://127.0.0.1:1/api?token={TOKEN}"}

MAIN_SCRIPT = """
import json, os
from jupyter_core.paths import jupyter_runtime_dir
from jupyter_server.serverapp import list_running_servers
with open({path!r}, "w") as dump:
    json.dump(dict(os.environ), dump)
with open({path!r} + ".servers", "w") as dump:
    json.dump({{"runtime_dir": jupyter_runtime_dir(), "servers": list(list_running_servers())}}, dump)
try:
    while True:
        nrp.run_loop()
except NRPSimulationTimeout:
    pass
"""


class ServerWithTokenInEnvironment(LiveServer):
    def environment(self) -> dict[str, str]:
        return {**super().environment(), **LEAKY_VARIABLES}


def leaks(environment: dict[str, str]) -> list[str]:
    """Names of the variables that are Jupyter's token variables or carry the token's value."""
    return sorted(name for name, value in environment.items()
                  if TOKEN in value or name in ("JUPYTER_TOKEN", "JPY_API_TOKEN"))


@pytest.fixture
def server(tmp_path, monkeypatch):
    marker = uuid.uuid4().hex
    monkeypatch.setenv(TEST_MARKER_VARIABLE, marker)
    root = experiments_root(tmp_path / "root", EXPERIMENTS, {"tf_exchange"})
    dump = tmp_path / "kernel_environ.json"
    (root / "experiments" / "tf_exchange" / "main_script.py").write_text(MAIN_SCRIPT.format(path=str(dump)))
    server = ServerWithTokenInEnvironment(root, tmp_path).start()
    server.marker, server.dump = marker, dump
    try:
        yield server
    finally:
        server.close()
        assert_no_core_processes(marker, within_s=10.0)


def test_the_server_itself_has_the_token_in_its_environment(server):
    # Otherwise the tests below would prove nothing.
    assert leaks(psutil.Process(server.process.pid).environ()) == ["JUPYTER_TOKEN", "NRP_TEST_SERVICE_URL"]


def test_nrpcoresim_and_the_engines_do_not_get_the_token(server):
    code, launched = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 201, launched
    processes = core_processes(server.marker)
    names = {" ".join(process.cmdline()[:3]) for process in processes}
    assert any("NRPCoreSim" in name for name in names), names
    assert len(processes) >= 3, names  # NRPCoreSim and its two engines
    for process in processes:
        assert leaks(process.environ()) == [], " ".join(process.cmdline()[:3])


def test_the_experiment_kernel_does_not_get_the_token(server):
    code, launched = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 201, launched
    simulation_id = str(launched["simulationID"])
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})[0] == 200
    server.wait_state(simulation_id, "completed", timeout=60)
    environment = json.loads(server.dump.read_text())
    assert environment["KERNEL_NRP_SIMULATION_ID"] == simulation_id  # the script ran in the kernel
    assert leaks(environment) == []


def test_the_experiment_kernel_finds_no_running_server_and_no_server_file(server, tmp_path):
    code, launched = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    simulation_id = str(launched["simulationID"])
    assert server.call("PUT", "simulation", simulation_id, "state", body={"state": "started"})[0] == 200
    server.wait_state(simulation_id, "completed", timeout=60)
    seen = json.loads(server.dump.with_name(server.dump.name + ".servers").read_text())
    assert seen["servers"] == []
    # The server's own runtime directory does hold its jpserver file: the kernel is just not sent there.
    assert list((tmp_path / "runtime").glob("jpserver-*.json"))
    assert not seen["runtime_dir"].startswith(str(tmp_path / "runtime"))


def test_credential_variables_and_values_carrying_a_secret_are_left_out():
    from nrp_jupyter.server.kernel_environment import inherited_environment

    environment = {"PATH": "/usr/bin", "JUPYTERHUB_API_TOKEN": "hub", "JPY_API_TOKEN": "x", "JUPYTER_TOKEN": "t",
                   "URL": "http://h/?token=s3cret-token", "HOME": "/home/n"}
    assert inherited_environment(environment, ("s3cret-token",)) == {"PATH": "/usr/bin", "HOME": "/home/n"}
    # An empty or very short token (no protection anyway) would match unrelated values.
    assert inherited_environment({"PATH": "/usr/bin"}, ("", "u")) == {"PATH": "/usr/bin"}
