"""NRP deployment mode, black-box: a real Jupyter server process in NRP mode (`nrp_proxy_url`) in
front of the stand-in for nrp-proxy (stand_in_proxy.py), called as NRP's frontend and proxy call it.

The stand-in's storage holds, per experiment id (owner in brackets):
    tf_exchange_0 (alice)   the shipped tf_exchange, plus a nested folder, an old log and a logs/ folder
    bobs_0 (bob)            tf_exchange again, not shared with alice
    big_0 (alice)           tf_exchange with a file past the server's nrp_experiment_max_bytes
    traversal_0 (alice)     tf_exchange, whose listing adds the names given in TRAVERSAL_NAMES
    vanishing_0 (alice)     tf_exchange, whose listing names a file the proxy then does not give
    deep_0 (alice)          tf_exchange with folders nested past the server's bound (16)
    crowded_0 (alice)       tf_exchange, whose listing adds more entries than the server's bound (10,000)
"""

from __future__ import annotations

import json
import pathlib
import shutil
import urllib.error
import urllib.request

import pytest

from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.live_server import LiveServer
from tests.nrp_deployment.stand_in_proxy import StandInProxy
from tests.ports import free_port

ALICE, BOB = "alice", "bob"
TOKENS = {ALICE: "7f1c2a4e-alice-token", BOB: "9d3b5c6f-bob-token"}
MAX_EXPERIMENT_BYTES = 1024 * 1024
# The server's other bounds on a fetched experiment (proxy_storage.FetchLimits' defaults).
MAX_ENTRIES, MAX_DEPTH = 10_000, 16
IDENTITY_CACHE_S = 0.3
TRAVERSAL_NAMES = {"../escaped.py": "a parent folder", "sub/escaped.py": "a path", "..": "the parent itself"}


def _experiment(root: pathlib.Path, name: str) -> pathlib.Path:
    return copy_experiment_folder(EXPERIMENTS / "tf_exchange", root / name)


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxy-storage")
    tf_exchange = _experiment(root, "tf_exchange_0")
    (tf_exchange / "resources" / "deeper").mkdir(parents=True)
    (tf_exchange / "resources" / "deeper" / "notes.txt").write_text("fetched from a sub-folder\n")
    (tf_exchange / "old_run.log").write_text("a log of an earlier run: never copied\n")
    (tf_exchange / "logs").mkdir()
    (tf_exchange / "logs" / "earlier.log").write_text("never copied either\n")
    _experiment(root, "bobs_0")
    big = _experiment(root, "big_0")
    (big / "weights.bin").write_bytes(b"\0" * (MAX_EXPERIMENT_BYTES + 1))
    _experiment(root, "traversal_0")
    _experiment(root, "vanishing_0")
    deep = _experiment(root, "deep_0")
    deep.joinpath(*["d"] * (MAX_DEPTH + 1)).mkdir(parents=True)
    _experiment(root, "crowded_0")
    proxy = StandInProxy(root, users={token: user for user, token in TOKENS.items()},
                         owners={"tf_exchange_0": ALICE, "bobs_0": BOB, "big_0": ALICE, "traversal_0": ALICE,
                                 "vanishing_0": ALICE, "deep_0": ALICE, "crowded_0": ALICE},
                         extra_entries={"vanishing_0": [{"name": "gone.py", "uuid": "vanishing_0/gone.py",
                                                         "size": 10, "type": "file"}],
                                        "crowded_0": [{"name": f"f{index}", "uuid": f"crowded_0/f{index}",
                                                       "size": 0, "type": "folder"}
                                                      for index in range(MAX_ENTRIES + 1)]}).start()
    yield proxy
    proxy.stop()


class NrpModeServer(LiveServer):
    """A server in NRP mode; its simulation directories are under `simulations_dir`."""

    def __init__(self, root, tmp_path, proxy_url: str, *extra: str):
        self.simulations_dir = pathlib.Path(tmp_path) / "simulations"
        self.websockets_port = free_port()
        super().__init__(root, tmp_path, (
            f"--NrpJupyterApp.nrp_proxy_url={proxy_url}",
            f"--NrpJupyterApp.nrp_identity_cache_seconds={IDENTITY_CACHE_S}",
            f"--NrpJupyterApp.nrp_experiment_max_bytes={MAX_EXPERIMENT_BYTES}",
            "--NrpJupyterApp.nrp_proxy_timeout=10",
            f"--NrpJupyterApp.embedded_broker_websockets_port={self.websockets_port}",
            f"--NrpJupyterApp.simulations_dir={self.simulations_dir}", *extra))

    def fetch(self, method: str, path: str, *, bearer: str | None = None, jupyter_token: bool = False,
              body=None, headers: dict | None = None):
        """`(status, parsed JSON body or None, response headers)` of `<url>nrp/<path>`, sent with
        NRP's bearer token, the server's own token, or no credentials."""
        headers = dict(headers or {})
        if bearer is not None:
            headers["Authorization"] = f"Bearer {bearer}"
        elif jupyter_token:
            headers["Authorization"] = f"token {self.token}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        if data is not None:
            headers.setdefault("Content-Type", "application/json")
        request = urllib.request.Request(f"{self.url}nrp/{path}", method=method, data=data, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, _json(response.read()), response.headers
        except urllib.error.HTTPError as error:
            # The error holds the connection until closed; left to the collector it is a ResourceWarning.
            with error:
                return error.code, _json(error.read()), error.headers

    def leftover_dirs(self) -> list[str]:
        """Simulation and staging directories still on disk."""
        return sorted(path.name for path in self.simulations_dir.glob("nrp.*")) if self.simulations_dir.is_dir() else []

    def stop_as(self, simulation_id: int, bearer: str):
        return self.fetch("PUT", f"simulation/{simulation_id}/state", bearer=bearer, body={"state": "stopped"})


def _json(raw: bytes):
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


@pytest.fixture(scope="module")
def nrp_server(stand_in, tmp_path_factory):
    root = tmp_path_factory.mktemp("nrp-mode-root")
    # Nothing in the local storage: whatever launches came from the proxy.
    (root / "experiments").mkdir()
    server = NrpModeServer(root, tmp_path_factory.mktemp("nrp-mode-server"), stand_in.url).start()
    yield server
    for record in server.fetch("GET", "simulation")[1] or []:
        if record["state"] not in ("stopped", "failed"):
            server.stop_as(record["simulationID"], TOKENS.get(record["owner"], ""))
    server.close()
    shutil.rmtree(server.simulations_dir, ignore_errors=True)


def launch(server: NrpModeServer, experiment_id: str, bearer: str):
    """POST /simulation as NRP's frontend sends it (experiment-execution-service.js)."""
    return server.fetch("POST", "simulation", bearer=bearer,
                        body={"experimentID": experiment_id, "experimentConfiguration": "simulation_config.json",
                              "state": "created", "private": True})
