"""Finding the Jupyter server a notebook kernel runs under.

Kernels started by a Jupyter server get neither its URL nor its token in their environment, but
every server writes `jpserver-<pid>.json` (url, token, root_dir, pid) into Jupyter's runtime
directory, and jupyter_client sets `JPY_PARENT_PID` to the server's pid in each kernel it starts.
In this order:

1. `JUPYTER_SERVER_URL` (and `JUPYTER_SERVER_TOKEN`, else `JUPYTER_TOKEN`) from the environment;
2. the running-server file of the server whose pid is `JPY_PARENT_PID`;
3. the running server whose root_dir holds the current directory (the deepest one);
4. the only running server.

The files are read directly rather than through `jupyter_server.serverapp.list_running_servers`,
which imports the whole server and deletes the files of servers it believes dead.
"""

from __future__ import annotations

import json
import os
import pathlib

from .errors import ServerNotFound

URL_VARIABLE = "JUPYTER_SERVER_URL"
TOKEN_VARIABLES = ("JUPYTER_SERVER_TOKEN", "JUPYTER_TOKEN")
PARENT_PID_VARIABLE = "JPY_PARENT_PID"


def discover_server(environ: dict[str, str] | None = None, runtime_dir: str | None = None,
                    cwd: str | None = None) -> tuple[str, str | None]:
    """`(url, token)` of the server to talk to; raises `ServerNotFound` saying what was looked at."""
    environ = os.environ if environ is None else environ
    if environ.get(URL_VARIABLE):
        token = next((environ[name] for name in TOKEN_VARIABLES if environ.get(name)), None)
        return environ[URL_VARIABLE], token
    if runtime_dir is None:
        from jupyter_core.paths import jupyter_runtime_dir

        runtime_dir = environ.get("JUPYTER_RUNTIME_DIR") or jupyter_runtime_dir()
    servers = running_servers(runtime_dir)
    chosen = _choose(servers, environ.get(PARENT_PID_VARIABLE), pathlib.Path(cwd or os.getcwd()))
    return chosen["url"], chosen.get("token") or None


def running_servers(runtime_dir: str) -> list[dict]:
    """The contents of the `jpserver-*.json` files in `runtime_dir` whose process is alive and
    that can be reached over TCP (servers on a Unix socket cannot)."""
    found = []
    for path in sorted(pathlib.Path(runtime_dir).glob("jpserver-*.json")):
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):  # being written, or removed meanwhile
            continue
        if not isinstance(info, dict) or not info.get("url") or info.get("sock"):
            continue
        if _alive(info.get("pid")):
            found.append(info)
    return found


def _choose(servers: list[dict], parent_pid: str | None, cwd: pathlib.Path) -> dict:
    if not servers:
        raise ServerNotFound(f"no running Jupyter server found (no live jpserver-*.json in Jupyter's runtime "
                             f"directory, and {URL_VARIABLE} is not set); connect explicitly with "
                             f"Connection(url, token) or `%nrp connect URL --token T`")
    for server in servers:
        if parent_pid and str(server.get("pid")) == parent_pid:
            return server
    holding_cwd = [server for server in servers if _contains(server.get("root_dir"), cwd)]
    if holding_cwd:
        return max(holding_cwd, key=lambda server: len(pathlib.Path(server["root_dir"]).parts))
    if len(servers) == 1:
        return servers[0]
    urls = ", ".join(server["url"] for server in servers)
    raise ServerNotFound(f"{len(servers)} Jupyter servers are running ({urls}) and none is this kernel's "
                         f"parent or serves {cwd}; connect to one explicitly")


def _contains(root: str | None, path: pathlib.Path) -> bool:
    if not root:
        return False
    try:
        path.resolve().relative_to(pathlib.Path(root).resolve())
    except ValueError:
        return False
    return True


def _alive(pid) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True
