"""The kernel's output log keeps at most its limit, says where output stops being kept and how much
was dropped; a flood of prints does not grow it, in a unit and through a real server."""

import shutil
import zipfile

import pytest

from nrp_jupyter.server.output_log import OutputLog

FLOOD = """\
import sys
line = "x" * 99 + "\\n"
for _ in range(20_000):
    sys.stdout.write(line)
"""


def test_output_below_the_limit_is_kept_whole(tmp_path):
    output = OutputLog(tmp_path / "simulation_0.log", limit_bytes=100)
    output.write("hello\n")
    output.write("world\n")
    output.close()
    assert (tmp_path / "simulation_0.log").read_text() == "hello\nworld\n"


def test_output_past_the_limit_is_dropped_and_the_log_says_how_much(tmp_path):
    output = OutputLog(tmp_path / "simulation_0.log", limit_bytes=10)
    output.write("0123456789abc")
    output.write("more")
    output.close()
    assert (tmp_path / "simulation_0.log").read_text() == (
        "0123456789\n[nrp-jupyter] output beyond 10 bytes is not kept\n"
        "[nrp-jupyter] 7 bytes of output were dropped\n")


def test_an_unwritable_log_does_not_raise(tmp_path):
    output = OutputLog(tmp_path / "missing" / "simulation_0.log", limit_bytes=10)
    output.write("text")
    output.close()
    assert not (tmp_path / "missing").exists()


@pytest.mark.timeout(90)
@pytest.mark.parametrize("nrp_config", [{"kernel_output_limit": 50_000}])
async def test_a_printing_flood_is_capped_in_the_archived_log(nrp, experiments_root):
    shutil.copytree(experiments_root / "tf_exchange", experiments_root / "flood")
    (experiments_root / "flood" / "main_script.py").write_text(FLOOD)
    code, answer, _ = await nrp.launch("flood")
    simulation_id = answer["simulationID"]
    await nrp.put_state(simulation_id, "started")
    await nrp.wait_state(simulation_id, "completed", timeout=60)
    assert (await nrp.put_state(simulation_id, "stopped"))[0] == 200

    [archive] = (experiments_root / "flood").glob(f"*_simulation_{simulation_id}.log.zip")
    text = zipfile.ZipFile(archive).read(f"simulation_{simulation_id}.log").decode()
    assert text.count("x" * 99) == 50_000 // 100  # 2 MB printed, 50 kB kept
    assert "[nrp-jupyter] output beyond 50000 bytes is not kept" in text
    assert text.rstrip().endswith("bytes of output were dropped")
