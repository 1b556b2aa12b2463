"""At stop, the run's log archive goes back into the experiment's folder at the proxy, as NRP's
backend uploads it (POST /storage/<experiment>/<name>, application/octet-stream), with the owner's
token; an upload the proxy refuses keeps the archive on the server, where GET .../logs reads it."""

import io
import re
import zipfile

import pytest

from tests.nrp_deployment.conftest import ALICE, TOKENS, launch
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)

LOG_ARCHIVE = re.compile(r"\d{4}-\d{2}-\d{2}_\d{2}-\d{2}-\d{2}_simulation_(\d+)\.log\.zip")


def _uploads_of(stand_in, simulation_id: int) -> list:
    return [request for request in stand_in.asked("POST", "/storage/tf_exchange_0/")
            if (found := LOG_ARCHIVE.fullmatch(request.path.rsplit("/", 1)[1])) and int(found[1]) == simulation_id]


def test_the_log_archive_is_uploaded_to_the_experiment_at_stop(nrp_server, stand_in):
    status, simulation, _ = launch(nrp_server, "tf_exchange_0", TOKENS[ALICE])
    assert status == 201, simulation
    sid = simulation["simulationID"]
    assert nrp_server.fetch("PUT", f"simulation/{sid}/state", bearer=TOKENS[ALICE], body={"state": "started"})[0] == 200
    assert nrp_server.stop_as(sid, TOKENS[ALICE])[0] == 200

    [upload] = eventually(lambda: _uploads_of(stand_in, sid), within_s=20, what="the log archive's upload")
    assert upload.content_type == "application/octet-stream"
    assert upload.authorization == f"Bearer {TOKENS[ALICE]}"
    names = zipfile.ZipFile(io.BytesIO(upload.body)).namelist()
    assert f"nrpcore_{sid}.log" in names  # NRPCoreSim's log, as NRP's archive has it
    # Written where the frontend lists the experiment's files.
    assert (stand_in.root / "tf_exchange_0" / upload.path.rsplit("/", 1)[1]).read_bytes() == upload.body


@pytest.mark.parametrize("refusal", [500, 477, 403])
def test_a_refused_upload_keeps_the_logs_on_the_server(nrp_server, stand_in, refusal):
    status, simulation, _ = launch(nrp_server, "tf_exchange_0", TOKENS[ALICE])
    assert status == 201, simulation
    sid = simulation["simulationID"]
    stand_in.refuse_uploads = refusal
    try:
        assert nrp_server.stop_as(sid, TOKENS[ALICE])[0] == 200
    finally:
        stand_in.refuse_uploads = None
    assert len(_uploads_of(stand_in, sid)) == 1  # tried once, refused
    assert not list((stand_in.root / "tf_exchange_0").glob(f"*_simulation_{sid}.log.zip"))
    status, logs, _ = nrp_server.fetch("GET", f"simulation/{sid}/logs", bearer=TOKENS[ALICE])
    assert status == 200
    assert f"nrpcore_{sid}.log" in [item["name"] for item in logs["files"]]
    assert f"simulation {sid}: archives not uploaded to the NRP proxy" in nrp_server.log_path.read_text()
