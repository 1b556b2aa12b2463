"""Through the server: what tf_exchange_datatransfer's datatransfer engine dumps to files is in the
experiment's folder after the stop, in `<stamp>_simulation_<id>_data.zip` beside the log zip."""

import logging
import shutil
import zipfile
from datetime import datetime

import pytest

from nrp_jupyter.server import storage as storage_module

pytestmark = pytest.mark.timeout(120)

EXPERIMENT = "tf_exchange_datatransfer"


async def run_to_completion(nrp) -> int:
    code, record, _ = await nrp.launch(EXPERIMENT)
    assert code == 201, record
    simulation_id = record["simulationID"]
    assert (await nrp.put_state(simulation_id, "started"))[0] == 200
    await nrp.wait_state(simulation_id, "completed", timeout=60)
    return simulation_id


async def test_the_file_dumps_survive_the_stop_beside_the_logs(nrp, datatransfer_experiment, tmp_path):
    simulation_id = await run_to_completion(nrp)

    code, body, _ = await nrp.put_state(simulation_id, "stopped")

    assert (code, body) == (200, {"state": "stopped"})
    [data_zip] = datatransfer_experiment.glob(f"*_simulation_{simulation_id}_data.zip")
    [log_zip] = datatransfer_experiment.glob(f"*_simulation_{simulation_id}.log.zip")
    assert data_zip.name.removesuffix("_data.zip") == log_zip.name.removesuffix(".log.zip")
    with zipfile.ZipFile(data_zip) as zipped:
        names = sorted(zipped.namelist())
        # One run folder `data/<YYYYmmdd-HHMMSS>-<pid>/` with the two file dumps of the config.
        assert [name.rpartition("/")[2] for name in names] == ["engine_time.data", "time_array.data"]
        assert len({name.rpartition("/")[0] for name in names}) == 1 and names[0].startswith("data/")
        engine_time = zipped.read(names[0]).decode().splitlines()
        time_array = zipped.read(names[1]).decode().splitlines()
    # SimulationTimeout 1 s in steps of 10 ms: a header and 100 samples, as the engine wrote them.
    assert engine_time[0] == "sim_time,value" and len(engine_time) == 101
    assert len(time_array) == 100
    assert list((tmp_path / "simulations").iterdir()) == []  # the simulation directory is gone


async def test_a_data_archive_that_cannot_be_written_keeps_the_simulation_directory(
        nrp, datatransfer_experiment, tmp_path, monkeypatch, caplog):
    class FrozenClock(datetime):
        @classmethod
        def now(cls, tz=None):
            return cls(2024, 3, 1, 10, 15, 0, tzinfo=tz)

    simulation_id = await run_to_completion(nrp)
    # The server runs in this process: its storage names archives by this clock.
    monkeypatch.setattr(storage_module, "datetime", FrozenClock)
    name = f"2024-03-01_10-15-00_simulation_{simulation_id}_data.zip"
    (datatransfer_experiment / f".{name}.partial").mkdir()  # where the archive is written first

    code, body, _ = await nrp.put_state(simulation_id, "stopped")

    assert (code, body) == (200, {"state": "stopped"})  # the stop itself succeeds
    [kept] = (tmp_path / "simulations").iterdir()
    assert [path.name for path in (kept / "data").iterdir()]  # the run folder, with the dumps in it
    assert sorted(path.name for path in next((kept / "data").iterdir()).iterdir()) == [
        "engine_time.data", "time_array.data"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(name in text and str(kept) in text for text in warnings), warnings
    assert list(datatransfer_experiment.glob(f"*_simulation_{simulation_id}.log.zip"))  # logs archived still
    shutil.rmtree(kept)
