"""Finding the Jupyter server: the real server's running-server file, the environment, and the
choice among several servers."""

import json
import os
import pathlib

import pytest

from nrp_jupyter.notebook.client import Connection, ServerNotFound
from nrp_jupyter.notebook.client.discovery import discover_server, running_servers

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def runtime_dir(server):
    """The live server's runtime directory, which holds its real jpserver-<pid>.json."""
    path = server.tmp_path / "runtime"
    assert list(path.glob(f"jpserver-{server.process.pid}.json"))
    return path


@pytest.fixture
def clean_environ(monkeypatch):
    for name in ("JUPYTER_SERVER_URL", "JUPYTER_SERVER_TOKEN", "JUPYTER_TOKEN", "JPY_PARENT_PID",
                 "JUPYTER_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def write_server_file(directory: pathlib.Path, pid: int, url: str, root_dir: str, **extra) -> None:
    info = {"url": url, "token": f"token-of-{pid}", "root_dir": root_dir, "pid": pid, "base_url": "/",
            "sock": "", **extra}
    (directory / f"jpserver-{pid}.json").write_text(json.dumps(info))


def test_the_kernels_parent_server_is_found_and_answers(server, runtime_dir, clean_environ):
    clean_environ.setenv("JUPYTER_RUNTIME_DIR", str(runtime_dir))
    clean_environ.setenv("JPY_PARENT_PID", str(server.process.pid))
    with Connection.discover() as connection:
        assert (connection.url, connection.token) == (server.url, server.token)
        assert connection.version()["nrp_jupyter"]


def test_the_only_running_server_is_found(server, runtime_dir, clean_environ, tmp_path):
    clean_environ.chdir(tmp_path)
    assert discover_server({}, str(runtime_dir)) == (server.url, server.token)


def test_the_environment_wins(clean_environ, runtime_dir):
    environ = {"JUPYTER_SERVER_URL": "http://example.org:8000/lab/", "JUPYTER_TOKEN": "from-env"}
    assert discover_server(environ, str(runtime_dir)) == ("http://example.org:8000/lab/", "from-env")


def test_no_running_server_is_a_clear_error(tmp_path, clean_environ):
    clean_environ.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(ServerNotFound, match="no running Jupyter server found.*%nrp connect"):
        Connection.discover()


def test_dead_servers_unix_sockets_and_broken_files_are_skipped(tmp_path):
    dead_pid = 2 ** 22 + 12345  # above Linux's pid_max: never alive
    write_server_file(tmp_path, dead_pid, "http://127.0.0.1:1/", "/")
    write_server_file(tmp_path, os.getpid(), "http://unix-socket/", "/", sock="/tmp/jupyter.sock")
    (tmp_path / "jpserver-1.json").write_text("{ half written")
    assert running_servers(str(tmp_path)) == []
    with pytest.raises(ServerNotFound):
        discover_server({}, str(tmp_path))


def test_among_several_the_parent_then_the_one_serving_the_directory(server, runtime_dir, tmp_path):
    servers = tmp_path / "runtime"
    servers.mkdir()
    notebooks = tmp_path / "notebooks"
    (notebooks / "deep").mkdir(parents=True)
    # Two more live processes' files: this test process, and the server's own parent (pytest too).
    write_server_file(servers, os.getpid(), "http://127.0.0.1:1001/", str(notebooks))
    write_server_file(servers, os.getppid(), "http://127.0.0.1:1002/", str(tmp_path))
    for path in runtime_dir.glob("jpserver-*.json"):
        (servers / path.name).write_text(path.read_text())

    parent = {"JPY_PARENT_PID": str(server.process.pid)}
    assert discover_server(parent, str(servers), cwd=str(notebooks)) == (server.url, server.token)
    # No parent: the deepest root_dir holding the working directory.
    assert discover_server({}, str(servers), cwd=str(notebooks / "deep"))[0] == "http://127.0.0.1:1001/"
    assert discover_server({}, str(servers), cwd=str(tmp_path))[0] == "http://127.0.0.1:1002/"
    with pytest.raises(ServerNotFound, match="3 Jupyter servers are running"):
        discover_server({}, str(servers), cwd="/proc")
