"""With NrpJupyterApp.record_runs off, a run leaves no recording, and its REST read says so."""

import os

import pytest

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def nrp_config():
    return {"record_runs": False}


async def test_recording_off_writes_no_file(nrp, experiments_root, tmp_path):
    code, record, _ = await nrp.launch("tf_exchange")
    assert code == 201, record
    sid = record["simulationID"]
    # A recording of the same id by a run before this simulation (ids restart on a fresh root) is
    # not this simulation's.
    older = experiments_root / "tf_exchange" / f"2000-01-01_00-00-00_simulation_{sid}.mcap"
    older.write_bytes(b"an older run's")
    os.utime(older, (946_684_800, 946_684_800))
    [simulation_dir] = (tmp_path / "simulations").iterdir()
    assert (await nrp.put_state(sid, "started"))[0] == 200
    await nrp.wait_state(sid, "completed", timeout=60)
    assert not (simulation_dir / "recording.mcap").exists()
    assert (await nrp.put_state(sid, "stopped"))[0] == 200

    code, body, _ = await nrp.call("GET", "simulation", str(sid), "recording")

    assert (code, body["type"]) == (404, "Client error")
    assert body["message"] == (f"simulation {sid} left no recording: recording is off on this server "
                               f"(NrpJupyterApp.record_runs)")
    assert [*(experiments_root / "tf_exchange").glob(f"*_simulation_{sid}.log.zip")]
    assert [*experiments_root.rglob(f"*_simulation_{sid}.mcap")] == [older]
