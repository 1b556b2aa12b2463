"""A Jupyter server with the nrp_jupyter extension, started for one command and stopped after it.

`jupyter nrp run` uses it when no server is given. It listens on a free loopback port with a random
token, keeps its runtime files and simulation records in a temporary directory (so that notebooks
do not discover it and the records of the user's own server are left alone), sends a status ten
times a second (for the progress bar), and runs in a session of its own: Ctrl-C in the terminal
reaches the command, which stops the server itself.
"""

from __future__ import annotations

import os
import pathlib
import secrets
import signal
import subprocess
import sys
import tempfile
import time

from ..notebook.client import Connection, NrpError
from ..notebook.client.discovery import running_servers

STARTUP_TIMEOUT_S = 60.0
SHUTDOWN_TIMEOUT_S = 30.0
# Seconds between two status messages: the progress bar moves with each, and a run of a second at
# the default (1 s) would jump from 0 to 100 %. Ten a second cost the server and kernel little.
STATUS_INTERVAL_S = 0.1


class PrivateServer:
    """`PrivateServer(root_dir).start()` returns once the REST API answers; `stop()` ends it."""

    def __init__(self, root_dir: str | os.PathLike, extra_args: tuple[str, ...] = ()):
        self.root_dir = pathlib.Path(root_dir).resolve()
        self.extra_args = tuple(extra_args)
        self.process: subprocess.Popen | None = None
        self.connection: Connection | None = None
        self._workdir: tempfile.TemporaryDirectory | None = None

    @property
    def log_path(self) -> pathlib.Path:
        return pathlib.Path(self._workdir.name) / "server.log"

    def command(self, token: str) -> list[str]:
        work = pathlib.Path(self._workdir.name)
        return [sys.executable, "-m", "nrp_jupyter.cli", "serve", "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port=0", f"--IdentityProvider.token={token}",
                # Loopback-only with a random token; kernels run as whoever runs the command anyway.
                "--allow-root", f"--ServerApp.root_dir={self.root_dir}",
                f"--NrpJupyterApp.database_path={work / 'simulations.sqlite'}",
                f"--NrpJupyterApp.status_interval={STATUS_INTERVAL_S}", *self.extra_args]

    def start(self, timeout: float = STARTUP_TIMEOUT_S) -> Connection:
        self._workdir = tempfile.TemporaryDirectory(prefix="nrp-jupyter-run-")
        runtime = pathlib.Path(self._workdir.name) / "runtime"
        token = secrets.token_hex(24)
        env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)}
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command(token), env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise NrpError(f"the Jupyter server exited with status {self.process.returncode} before it "
                               f"answered:\n{self.log_tail()}")
            connection = self._connection(runtime)
            if connection is not None:
                try:
                    connection.version()
                    self.connection = connection
                    return connection
                except NrpError:
                    connection.close()
            if time.monotonic() > deadline:
                self.stop()
                raise NrpError(f"the Jupyter server did not answer within {timeout:g} s:\n{self.log_tail()}")
            time.sleep(0.1)

    def _connection(self, runtime: pathlib.Path) -> Connection | None:
        """Its connection, from the running-server file it writes once it listens (it chose its port)."""
        if not runtime.is_dir():
            return None
        for info in running_servers(str(runtime)):
            if info.get("pid") == self.process.pid:
                return Connection(info["url"], info.get("token"))
        return None

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = SHUTDOWN_TIMEOUT_S) -> None:
        """SIGTERM (the server stops its simulations and kernels), SIGKILL if it hangs. Idempotent."""
        if self.connection is not None:
            self.connection.close()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def __enter__(self) -> PrivateServer:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
