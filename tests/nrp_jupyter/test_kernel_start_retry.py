"""A kernel that dies before it answers (another process took one of the ports jupyter_client chose
for it) is replaced once; a kernel that dies every time fails the launch after the second try,
with nothing left running. Kernelspecs whose launcher dies the first N times stand for both."""

import json
import sys

import pytest

pytestmark = pytest.mark.timeout(120)

# Dies, as a kernel that lost its port race does, while `attempts` holds fewer than `deaths` lines.
LAUNCHER = """
import os, pathlib, sys
attempts = pathlib.Path(sys.argv[1])
deaths = int(sys.argv[2])
with attempts.open("a") as log:
    log.write("attempt\\n")
if len(attempts.read_text().splitlines()) <= deaths:
    sys.exit("zmq.error.ZMQError: Address already in use")
os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", sys.argv[3]])
"""


def install_dying_kernelspec(jp_data_dir, tmp_path, name, deaths):
    launcher = tmp_path / "launcher.py"
    launcher.write_text(LAUNCHER)
    attempts = tmp_path / f"{name}.attempts"
    spec_dir = jp_data_dir / "kernels" / name
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(launcher), str(attempts), str(deaths), "{connection_file}"],
        "display_name": name, "language": "python"}))
    return attempts


@pytest.fixture
def nrp_config(request):
    return {"kernel_name": request.param}


@pytest.mark.parametrize("nrp_config", ["dies_once"], indirect=True)
async def test_a_kernel_that_died_starting_is_replaced_once(nrp, jp_data_dir, tmp_path):
    attempts = install_dying_kernelspec(jp_data_dir, tmp_path, "dies_once", deaths=1)

    code, record, _ = await nrp.launch()

    assert code == 201, record
    assert attempts.read_text().splitlines() == ["attempt", "attempt"]
    assert (await nrp.put_state(record["simulationID"], "started"))[0] == 200
    await nrp.wait_state(record["simulationID"], "completed")
    assert (await nrp.put_state(record["simulationID"], "stopped"))[0] == 200


@pytest.mark.parametrize("nrp_config", ["always_dies"], indirect=True)
async def test_a_kernel_that_always_dies_fails_the_launch_after_two_tries(nrp, jp_data_dir, tmp_path,
                                                                          jp_serverapp):
    attempts = install_dying_kernelspec(jp_data_dir, tmp_path, "always_dies", deaths=99)

    code, body, _ = await nrp.launch()

    assert code == 500 and body["type"] == "General error", body
    assert "Starting the experiment kernel failed" in body["message"]
    assert attempts.read_text().splitlines() == ["attempt", "attempt"]
    code, simulations, _ = await nrp.call("GET", "simulation")
    assert [simulation["state"] for simulation in simulations] == ["failed"]
    assert jp_serverapp.kernel_manager.list_kernel_ids() == []
