"""Real engine server processes on real sockets, found through a real registration server.

`start_engine(...)` launches `python -m engines.servers.python_<protocol>` in `tmp_path` (where
the tests write their scripts) and returns once the engine has POSTed its address, which is
how nrp-core's client learns it too: no sleeps. Every process is killed, if need be, and
checked gone when the test ends. The fixtures `registrar` (the registration server) and
`json_client` (raw clients of python_json engines) serve every folder below this one.
"""

import http.client
import http.server
import json
import os
import queue
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.waiting import eventually

REPO_ROOT = Path(__file__).resolve().parents[3]
TIME_RATIO = [1, 1_000_000_000]
# What nrp-core 1.4's C++ sends as a JSON datapack's type: opaque, to be echoed back.
NLOHMANN_TYPE = ("N8nlohmann10basic_jsonISt3mapSt6vectorNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEE"
                 "EblmdSaNS_14adl_serializerEEE")


class Registrar:
    """A registration server like the one nrp-core's client runs: records each POST body."""

    def __init__(self):
        self.received: queue.Queue = queue.Queue()
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.put((self.path, self.headers.get("Content-Type"), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def wait(self, proc: subprocess.Popen, stderr_path: Path, timeout: float = 20.0) -> dict:
        """The next registration; fails early, with the engine's log, if the engine dies first."""
        def registration():
            try:
                return self.received.get_nowait()
            except queue.Empty:
                if proc.poll() is not None:
                    pytest.fail(f"engine exited with {proc.returncode} before registering:\n"
                                f"{stderr_path.read_text()}")
                return None

        path, content_type, body = eventually(registration, timeout,
                                              lambda: f"the engine's registration:\n{stderr_path.read_text()}")
        assert path == "/" and content_type == "application/json"
        return body

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


@dataclass
class Engine:
    proc: subprocess.Popen
    name: str
    address: str
    stderr_path: Path

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])

    def stderr(self) -> str:
        return self.stderr_path.read_text()

    def wait_exit(self, timeout: float = 10.0) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"engine still running {timeout} s later:\n{self.stderr()}")


def engine_env(**extra: str) -> dict:
    env = dict(os.environ)
    # The scripts import nrp_core from this checkout, whatever the working directory.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


class EngineProcesses:
    """Engine servers (`python -m <module>`) started in `folder`, each returned once it registered
    with `registrar`; `close()` kills whatever is still running."""

    def __init__(self, folder: Path, registrar: Registrar):
        self.folder = folder
        self.registrar = registrar
        self.procs: list[subprocess.Popen] = []

    def start(self, module: str, name: str, *, serverurl: str = "127.0.0.1:0", args: list[str] | None = None,
              env: dict | None = None, stdout=subprocess.DEVNULL) -> Engine:
        if args is None:
            args = [f"--engine={name}", f"--serverurl={serverurl}", f"--regservurl={self.registrar.url}"]
        stderr_path = self.folder / f"{name}-{len(self.procs)}.stderr"
        with open(stderr_path, "wb") as stderr:
            proc = subprocess.Popen([sys.executable, "-m", module, *args], cwd=self.folder,
                                    env=env or engine_env(), stdout=stdout, stderr=stderr)
        self.procs.append(proc)
        registration = self.registrar.wait(proc, stderr_path)
        assert registration["engine_name"] == name
        return Engine(proc, name, registration["address"], stderr_path)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
        assert all(proc.poll() is not None for proc in self.procs)


@pytest.fixture
def registrar():
    registrar = Registrar()
    yield registrar
    registrar.close()


@pytest.fixture
def json_client():
    """Connects raw clients of python_json engines (`json_client(address)`), closed at the end."""
    clients: list[JsonClient] = []

    def connect(address: str) -> JsonClient:
        clients.append(JsonClient(address))
        return clients[-1]

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def start_engine(tmp_path, registrar):
    engines = EngineProcesses(tmp_path, registrar)

    def start(protocol: str = "json", name: str = "python_1", serverurl: str = "127.0.0.1:0",
              args: list[str] | None = None, env: dict | None = None, stdout=subprocess.DEVNULL) -> Engine:
        return engines.start(f"engines.servers.python_{protocol}", name, serverurl=serverurl, args=args, env=env,
                             stdout=stdout)

    yield start
    engines.close()


def engine_config(name: str = "python_1", python_file: str = "engine.py", **extra) -> dict:
    return {"EngineName": name, "EngineType": "python_json", "PythonFileName": python_file,
            "EngineTimestep": 0.01, "TimeRatio": TIME_RATIO, **extra}


class JsonClient:
    """Raw HTTP/1.1 keep-alive client of a python_json engine."""

    def __init__(self, address: str):
        host, _, port = address.rpartition(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=10)

    def post(self, route: str, body) -> tuple[int, object]:
        self.connection.request("POST", route, json.dumps(body), {"Content-Type": "application/json"})
        response = self.connection.getresponse()
        return response.status, json.loads(response.read())

    def ok(self, route: str, body):
        status, reply = self.post(route, body)
        assert status == 200, reply
        return reply

    def close(self) -> None:
        self.connection.close()
