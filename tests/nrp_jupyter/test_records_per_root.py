"""Records per server root by default: a server on a fresh root starts at simulation 0, whatever
other servers of the account have launched (they counted on, from 10 say, before)."""

import copy

import pytest

from nrp_jupyter.server.registry import Registry, default_database_path

pytestmark = pytest.mark.timeout(90)


def test_each_root_has_its_own_records_file(tmp_path):
    data = tmp_path / "data"
    first, second = tmp_path / "lab one", tmp_path / "two"
    first.mkdir()
    second.mkdir()
    path = default_database_path(data, first)
    assert path.parent.parent == data / "nrp_jupyter" / "roots" and path.parent.name.startswith("lab_one-")
    assert default_database_path(data, first / ".." / "lab one") == path  # one root, however spelled
    assert default_database_path(data, second) != path
    # Ids count per file: the second root's first simulation is 0 after the first root's 0..9.
    with Registry(path) as one:
        for _ in range(10):
            one.allocate_id()
    with Registry(default_database_path(data, second)) as two:
        assert two.allocate_id() == 0


@pytest.fixture
def jp_server_config(jp_server_config):
    config = copy.deepcopy(jp_server_config)
    del config["NrpJupyterApp"]["database_path"]  # the default
    return config


def test_a_server_keeps_its_records_per_root(jp_serverapp, jp_root_dir, jp_data_dir):
    apps = jp_serverapp.extension_manager.extension_apps["nrp_jupyter"]
    (app,) = apps if isinstance(apps, set) else (apps,)
    path = default_database_path(jp_data_dir, jp_root_dir)
    assert app.database_path == str(path) and path.is_file()
