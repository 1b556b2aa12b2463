"""A real experiment kernel for tests: started as the server starts it, driven by execute requests,
its events read from iopub (docs/architecture.md)."""

import os
import pathlib
import queue
import sys
import threading
import time

import psutil
from jupyter_client.manager import start_new_kernel

from kernel_ext.protocol import BOOTSTRAP, MIME_TYPE  # noqa: F401 (BOOTSTRAP: for the tests)
from tests.conftest import CORE_PROCESS_MARKERS, REPO
SIMULATION_ID = "5"


class Event(dict):
    """One event payload, with the monotonic time the test received it."""

    def __init__(self, payload, received):
        super().__init__(payload)
        self.received = received


class ExperimentKernel:
    def __init__(self, simulation_dir: pathlib.Path, **variables: str) -> None:
        self.simulation_dir = simulation_dir
        env = {**os.environ,
               "KERNEL_NRP_SIMULATION_ID": SIMULATION_ID,
               "KERNEL_NRP_SIMULATION_DIR": str(simulation_dir),
               **variables}
        # kernel_ext is imported from this checkout, wherever the kernel's cwd is.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        self.km, self.kc = start_new_kernel(startup_timeout=60, kernel_name="python3",
                                            cwd=str(simulation_dir), env=env)
        self.events: list[Event] = []
        self.output: list[str] = []
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._reader = threading.Thread(target=self._read_iopub, name="iopub-reader", daemon=True)
        self._reader.start()

    @property
    def process(self) -> psutil.Process:
        return psutil.Process(self.km.provisioner.pid)

    def _read_iopub(self) -> None:
        # The channel itself, not kc.get_iopub_msg: that one runs an event loop per calling thread,
        # which would be left unclosed when this thread ends.
        channel = self.kc.iopub_channel
        while not self._closing.is_set():
            try:
                message = channel.get_msg(timeout=0.1)
            except queue.Empty:
                continue
            received = time.monotonic()
            content = message["content"]
            with self._changed:
                if message["msg_type"] == "display_data" and MIME_TYPE in content.get("data", {}):
                    self.events.append(Event(content["data"][MIME_TYPE], received))
                elif message["msg_type"] == "stream":
                    self.output.append(content["text"])
                elif message["msg_type"] == "error":
                    self.output.append("\n".join(content["traceback"]))
                self._changed.notify_all()

    def execute(self, code: str, timeout: float = 10, stop_on_error: bool = False) -> dict:
        """Run `code` as the server does; returns the execute_reply's content.

        With stop_on_error (ipykernel's default), an error reply makes the kernel abort requests
        that follow it closely: a command right after an IllegalCommand would be lost.
        """
        msg_id = self.kc.execute(code, store_history=False, silent=False, stop_on_error=stop_on_error)
        deadline = time.monotonic() + timeout
        while True:
            reply = self.kc.shell_channel.get_msg(timeout=max(0.01, deadline - time.monotonic()))
            if reply["parent_header"].get("msg_id") == msg_id:
                return reply["content"]

    def command(self, name: str) -> dict:
        reply = self.execute(f"__nrp_simulation__.{name}()")
        if reply["status"] != "ok":
            raise AssertionError(f"{name}() failed: {reply}\n{self.log()}")
        return reply

    def wait_for(self, predicate, timeout: float, after: int = 0) -> Event:
        """The first event from index `after` on that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.events[after:]:
                    if predicate(event):
                        return event
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no matching event within {timeout} s; events: {self.summary()}\n"
                                         f"{self.log()}")
                self._changed.wait(remaining)

    def wait_event(self, name: str, timeout: float, after: int = 0, **fields) -> Event:
        return self.wait_for(lambda e: e["event"] == name and all(e.get(k) == v for k, v in fields.items()),
                             timeout, after)

    def index(self, event: Event) -> int:
        return next(i for i, candidate in enumerate(self.events) if candidate is event)

    def mark(self) -> int:
        """Index of the next event."""
        with self._changed:
            return len(self.events)

    def names(self, after: int = 0, statuses: bool = True) -> list[str]:
        return [e["event"] for e in self.events[after:] if statuses or e["event"] != "status"]

    def summary(self) -> list:
        return [(e["event"], e.get("state") or e.get("subtask") or e.get("msg") or "") for e in self.events]

    def log(self) -> str:
        return "".join(self.output)[-3000:]

    def core_processes(self) -> list[psutil.Process]:
        """NRPCoreSim and engine processes below the kernel."""
        found = []
        for child in self.process.children(recursive=True):
            try:
                if child.status() != psutil.STATUS_ZOMBIE and any(
                        word in part for part in child.cmdline() for word in CORE_PROCESS_MARKERS):
                    found.append(child)
            except psutil.NoSuchProcess:
                continue
        return found

    def close(self) -> None:
        self._closing.set()
        self._reader.join(2)
        try:
            self.kc.stop_channels()
        finally:
            self.km.shutdown_kernel(now=True)


def assert_kernel_is_this_interpreter(kernel: ExperimentKernel) -> None:
    # The kernelspec says "python"; jupyter_client runs sys.executable for it. NRPCoreSim and the
    # engines are found next to the kernel's interpreter, so it must be this venv's.
    assert kernel.process.cmdline()[0] == sys.executable
