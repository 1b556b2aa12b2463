"""`%nrp` where users run it: in a kernel the Jupyter server started, which finds that server by
itself (its running-server file and JPY_PARENT_PID), over the kernel's WebSocket as a front end."""

import json
import urllib.request
import uuid

import pytest
import websocket

from tests.notebook.client import experiments


class NotebookKernel:
    """A python3 kernel started through the server's REST API, driven over its channels WebSocket."""

    def __init__(self, server):
        self.server = server
        self.kernel_id = self._api("POST", "api/kernels", {"name": "python3"})["id"]
        self.session = uuid.uuid4().hex
        self.socket = websocket.create_connection(
            f"ws://127.0.0.1:{server.port}/api/kernels/{self.kernel_id}/channels?session_id={self.session}",
            header=[f"Authorization: token {server.token}"], timeout=90)

    def _api(self, method, path, body=None):
        request = urllib.request.Request(f"{self.server.url}{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.server.token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def execute(self, code: str) -> tuple[str, list[dict]]:
        """(stdout and stderr, error contents) of running `code`, once the kernel is idle again."""
        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "username": "test", "session": self.session,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        out, errors, replied, idle = [], [], False, False
        while not (replied and idle):
            message = json.loads(self.socket.recv())
            if message.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = message["msg_type"]
            if kind == "stream":
                out.append(message["content"]["text"])
            elif kind == "error":
                errors.append(message["content"])
            elif kind == "execute_reply":
                replied = True
            elif kind == "status" and message["content"]["execution_state"] == "idle":
                idle = True
        return "".join(out), errors

    def close(self):
        self.socket.close()
        self._api("DELETE", f"api/kernels/{self.kernel_id}")


@pytest.fixture
def kernel(server):
    kernel = NotebookKernel(server)
    yield kernel
    kernel.close()


@pytest.mark.timeout(180)
def test_a_notebook_kernel_finds_its_server_and_runs_an_experiment(kernel, server):
    out, errors = kernel.execute("import os\n"
                                 "os.environ.pop('JUPYTER_SERVER_URL', None)\n"
                                 "%load_ext nrp_jupyter\n"
                                 "from nrp_jupyter import Connection\n"
                                 "print('server:', Connection.discover().url)\n"
                                 f"%nrp launch {experiments.RUNS_UNTIL_STOPPED}\n"
                                 "%nrp start\n")
    assert not errors, errors
    lines = out.splitlines()
    assert lines[0] == f"server: {server.url}"
    assert lines[1].startswith("Simulation ") and lines[1].endswith(f"of {experiments.RUNS_UNTIL_STOPPED} "
                                                                    "launched: paused")
    simulation_id = int(lines[1].split()[1])
    assert lines[2] == f"Simulation {simulation_id}: started"

    out, errors = kernel.execute("%nrp stop")
    assert (out.strip(), errors) == (f"Simulation {simulation_id}: stopped", [])


@pytest.mark.timeout(120)
def test_errors_reach_the_notebook_as_one_line(kernel):
    out, errors = kernel.execute("%load_ext nrp_jupyter\n%nrp start 987654")
    assert len(errors) == 1
    assert errors[0]["ename"] == "NrpCommandError"
    assert len(errors[0]["traceback"]) == 1
    assert errors[0]["traceback"][0].startswith("NrpError: The simulation with the given ID was not found")
    out, errors = kernel.execute("%nrp explode")
    # IPython writes usage errors to stderr, one line, and does not count them as an exception.
    assert errors == []
    assert out.startswith("UsageError: argument") and "invalid choice: 'explode'" in out
    assert len(out.splitlines()) == 1
