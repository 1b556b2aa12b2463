"""The panel inside a real ipykernel: its updater thread's trait writes reach iopub as comm_msg
updates after the cell has finished, parented to the cell that displayed it."""

import os
import queue

import pytest
from jupyter_client.manager import start_new_kernel

from tests.conftest import REPO
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(150)


@pytest.fixture
def kernel():
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    manager, client = start_new_kernel(startup_timeout=60, kernel_name="python3", cwd=str(REPO), env=env)
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def iopub_until(client, done, timeout: float, what: str) -> list[dict]:
    """iopub messages up to and including the first for which `done(message)` holds."""
    seen = []

    def arrived() -> bool:
        try:
            message = client.iopub_channel.get_msg(timeout=1.0)
        except queue.Empty:
            return False
        seen.append(message)
        return done(message)

    # No pause between reads: get_msg itself waits for the next message.
    eventually(arrived, timeout, lambda: f"{what}; saw {[m['msg_type'] for m in seen][-20:]}", every_s=0)
    return seen


def execute(client, code: str, timeout: float = 60) -> tuple[str, list[dict]]:
    """Runs `code`; returns its msg_id and its iopub messages up to idle. Fails on an error."""
    msg_id = client.execute(code)
    messages = iopub_until(client, lambda m: m["parent_header"].get("msg_id") == msg_id
                           and m["msg_type"] == "status" and m["content"]["execution_state"] == "idle",
                           timeout, "the end of the cell")
    errors = [m["content"] for m in messages if m["msg_type"] == "error"]
    assert not errors, "\n".join(errors[0]["traceback"])
    return msg_id, messages


def test_updates_reach_iopub_from_the_panel_thread(live_server_quiet, launched, kernel):
    server = live_server_quiet
    simulation = launched("panel_slow")
    cell, messages = execute(kernel, "from nrp_jupyter import Connection, ControlPanel, Simulation\n"
                                     f"panel = ControlPanel(Simulation(Connection({server.url!r}, {server.token!r}), "
                                     f"{simulation.id}))\n"
                                     "panel\n")
    opened = [m["content"] for m in messages if m["msg_type"] == "comm_open" and m["content"]["data"]["state"]
              .get("_anywidget_id") == "nrp_jupyter.notebook.panel.widget.ControlPanel"]
    assert len(opened) == 1
    comm_id = opened[0]["comm_id"]
    assert "export default" in opened[0]["data"]["state"]["_esm"]
    views = [m["content"]["data"]["application/vnd.jupyter.widget-view+json"] for m in messages
             if m["msg_type"] == "execute_result"]
    assert views and views[0]["model_id"] == comm_id

    shown = {}

    def updates(messages):
        for message in messages:
            content = message["content"]
            if (message["msg_type"] == "comm_msg" and content["comm_id"] == comm_id
                    and content["data"].get("method") == "update"):
                shown.update(content["data"]["state"])
                yield message

    def showing(state):
        return lambda message: any(True for _ in updates([message])) and shown.get("state") == state

    # The first updates may come while the cell still runs; those after it are the thread's alone.
    list(updates(messages))
    if shown.get("state") != "paused":
        iopub_until(kernel, showing("paused"), 30, "the paused state")
    simulation.start()
    started = iopub_until(kernel, showing("started"), 30, "the started state")[-1]
    assert started["parent_header"]["msg_id"] == cell
    assert started["content"]["data"]["state"]["actions"] == ["pause", "stop"]

    _, messages = execute(kernel, "panel.close()\n"
                                  "import threading\n"
                                  "print(sorted(t.name for t in threading.enumerate() if t.name.startswith('nrp-panel')))")
    output = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    assert output.strip() == "[]"
    assert any(m["msg_type"] == "comm_close" and m["content"]["comm_id"] == comm_id for m in messages)
