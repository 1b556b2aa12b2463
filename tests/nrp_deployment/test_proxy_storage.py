"""A launch by an NRP token fetches the experiment from the proxy's storage, with that token, into
the simulation directory: sub-folders included, NRP's exclusions left out. Unsafe names, an
experiment past the size bound, an unknown or foreign experiment and a file the proxy does not
give each refuse the launch with a typed error, and leave nothing behind."""

import pytest

from tests.nrp_deployment.conftest import ALICE, BOB, MAX_EXPERIMENT_BYTES, TOKENS, TRAVERSAL_NAMES, launch

pytestmark = pytest.mark.timeout(120)


def test_the_experiment_is_fetched_with_the_callers_token(nrp_server, stand_in):
    before = len(stand_in.requests)
    status, simulation, _ = launch(nrp_server, "tf_exchange_0", TOKENS[ALICE])
    assert status == 201 and simulation["state"] == "paused", simulation
    sid = simulation["simulationID"]
    try:
        [folder] = [path for path in nrp_server.simulations_dir.glob(f"nrp.{sid}.*")]
        assert (folder / "main_script.py").is_file() and (folder / "simulation_config.json").is_file()
        assert (folder / "resources" / "deeper" / "notes.txt").read_text() == "fetched from a sub-folder\n"
        assert not (folder / "old_run.log").exists() and not (folder / "logs" / "earlier.log").exists()
        asked = stand_in.requests[before:]
        storage = [request for request in asked if request.path.startswith("/storage/")]
        assert {request.authorization for request in storage} == {f"Bearer {TOKENS[ALICE]}"}
        # NRP's storage client: the listing, then every file by name; sub-folders listed by their uuid.
        assert storage[0].method == "GET" and storage[0].path == "/storage/tf_exchange_0"
        assert any(request.path == "/storage/tf_exchange_0%2Fresources" for request in storage)
        files = [request for request in storage if request.path.endswith("/main_script.py")]
        assert files and files[0].query == {"byname": ["true"]}
    finally:
        assert nrp_server.stop_as(sid, TOKENS[ALICE])[0] == 200


def _refused_launch(nrp_server, experiment_id: str, token: str):
    count = len(nrp_server.fetch("GET", "simulation")[1])
    status, body, _ = launch(nrp_server, experiment_id, token)
    # Nothing launched, nothing left on disk, no record.
    assert len(nrp_server.fetch("GET", "simulation")[1]) == count
    assert not [name for name in nrp_server.leftover_dirs() if name.startswith("nrp.fetch.")]
    return status, body


@pytest.mark.parametrize("name", sorted(TRAVERSAL_NAMES))
def test_a_name_leading_out_of_its_folder_refuses_the_launch(nrp_server, stand_in, name):
    stand_in.extra_entries["traversal_0"] = [{"name": name, "uuid": f"traversal_0/{name}", "size": 3,
                                              "type": "file"}]
    try:
        status, body = _refused_launch(nrp_server, "traversal_0", TOKENS[ALICE])
    finally:
        del stand_in.extra_entries["traversal_0"]
    assert status == 502, body
    assert body["message"].startswith(f"The NRP proxy at {stand_in.url} listed the name {name!r} in the "
                                      f"experiment 'traversal_0'")
    assert "nothing was launched" in body["message"]
    assert not (nrp_server.simulations_dir / "escaped.py").exists()
    assert not (nrp_server.simulations_dir.parent / "escaped.py").exists()


def test_an_experiment_past_the_size_bound_is_refused(nrp_server):
    status, body = _refused_launch(nrp_server, "big_0", TOKENS[ALICE])
    assert status == 413, body
    assert body == {"message": f"The experiment 'big_0' is too large to launch: its files are more than "
                               f"{MAX_EXPERIMENT_BYTES} bytes (NrpJupyterApp.nrp_experiment_max_bytes)",
                    "type": "Client error", "data": None}


@pytest.mark.parametrize("experiment_id,token", [("no_such_experiment", TOKENS[ALICE]), ("bobs_0", TOKENS[ALICE])])
def test_an_unknown_or_foreign_experiment_is_a_404_naming_it(nrp_server, experiment_id, token):
    status, body = _refused_launch(nrp_server, experiment_id, token)
    assert status == 404, body
    assert body["message"] == (f"The experiment '{experiment_id}' was not found in the NRP proxy's storage "
                               f"(or it is not shared with you)")


def test_the_owner_of_a_foreign_experiment_launches_it(nrp_server):
    status, simulation, _ = launch(nrp_server, "bobs_0", TOKENS[BOB])
    assert status == 201 and simulation["owner"] == BOB
    assert nrp_server.stop_as(simulation["simulationID"], TOKENS[BOB])[0] == 200


def test_a_listed_file_the_proxy_does_not_give_refuses_the_launch(nrp_server, stand_in):
    status, body = _refused_launch(nrp_server, "vanishing_0", TOKENS[ALICE])
    assert status == 502, body
    assert body["message"].startswith(f"The NRP proxy at {stand_in.url} listed 'gone.py' in the experiment "
                                      f"'vanishing_0' but does not give it (HTTP 204")


def test_an_invalid_experiment_id_is_refused_before_the_proxy_is_asked(nrp_server, stand_in):
    before = len(stand_in.asked("GET", "/storage/"))
    status, body = _refused_launch(nrp_server, "../tf_exchange_0", TOKENS[ALICE])
    assert status == 400 and "must not contain '..'" in body["message"]
    assert len(stand_in.asked("GET", "/storage/")) == before
