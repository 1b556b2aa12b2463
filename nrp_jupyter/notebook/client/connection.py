"""One Jupyter server's NRP REST API, over a kept-alive HTTP connection (stdlib only).

Synchronous on purpose: the client runs in notebook kernels whose event loop is busy running the
kernel, so it neither needs nor may use asyncio. Requests are serialised by a lock, which lets a
control panel's thread and the notebook share one `Connection`.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import urllib.parse

from .errors import NrpError, ServerUnreachable, error_from_response
from .simulation import launch_on

# A request sent on a kept-alive connection that the server has meanwhile closed fails with one of
# these before any answer arrives; it never reached the server, so it is sent once more.
_STALE_CONNECTION = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError,
                     ConnectionAbortedError)
CONNECT_TIMEOUT_S = 5.0


class Connection:
    """The NRP REST API of the Jupyter server at `url` (its base URL, base_url included, e.g.
    "http://127.0.0.1:8888/" or "https://hub.example.org/user/ann/"), with Jupyter's `token`."""

    def __init__(self, url: str, token: str | None = None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL of a Jupyter server: {url!r}")
        self._parts = parts
        path = parts.path if parts.path.endswith("/") else parts.path + "/"
        self.url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))
        self._base_path = path
        self.token = token or None
        self._http: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        # Never the token: reprs end up in notebooks that get shared.
        return f"Connection({self.url!r}, token={'***' if self.token else None})"

    @classmethod
    def discover(cls) -> Connection:
        """The Jupyter server this kernel runs under (see `nrp_jupyter.notebook.client.discovery`)."""
        from .discovery import discover_server

        url, token = discover_server()
        return cls(url, token)

    def headers(self) -> dict[str, str]:
        """The authentication headers of every request."""
        return {"Authorization": f"token {self.token}"} if self.token else {}

    def events_url(self, simulation_id: int | None = None, *, include_token: bool = False) -> str:
        """The /events WebSocket, narrowed to one simulation when `simulation_id` is given; with
        `include_token`, the token rides in the query (for clients that cannot set headers)."""
        scheme = "wss" if self._parts.scheme == "https" else "ws"
        query = {}
        if simulation_id is not None:
            query["simulation"] = str(int(simulation_id))
        if include_token and self.token:
            query["token"] = self.token
        suffix = f"?{urllib.parse.urlencode(query)}" if query else ""
        return f"{scheme}://{self._parts.netloc}{self._base_path}nrp/events{suffix}"

    def request(self, method: str, path: str, body=None, timeout: float = 60):
        """Sends `method <url>nrp/<path>` with `body` as JSON; returns the parsed JSON answer
        (None when there is none). Raises the `NrpError` subclass of the status, or
        `ServerUnreachable` when no answer comes within `timeout` seconds."""
        target = f"{self._base_path}nrp/{path.lstrip('/')}"
        described = f"{method} {self.url}nrp/{path.lstrip('/')}"
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Accept": "application/json", **self.headers()}
        if payload is not None:
            headers["Content-Type"] = "application/json"
        with self._lock:
            status, reason, raw = self._exchange(method, target, payload, headers, timeout, described)
        if status >= 400:
            raise error_from_response(status, reason, raw, described)
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise NrpError(f"the answer is not JSON: {raw[:80]!r}; is this a Jupyter server with "
                                    f"the nrp_jupyter extension?", status=status, request=described) from None

    def _exchange(self, method, target, payload, headers, timeout, described) -> tuple[int, str, bytes]:
        for attempt in (1, 2):
            reused = self._http is not None
            try:
                connection = self._connection(timeout)
                connection.request(method, target, body=payload, headers=headers)
                response = connection.getresponse()
                raw = response.read()
            except _STALE_CONNECTION as error:
                self._drop()
                if reused and attempt == 1:
                    continue
                raise ServerUnreachable(f"the connection to {self.url} broke: {error}",
                                        request=described) from error
            except TimeoutError as error:
                self._drop()
                raise ServerUnreachable(f"no answer from {self.url} within {timeout:g} s",
                                        request=described) from error
            except OSError as error:  # refused, no route, name resolution
                self._drop()
                raise ServerUnreachable(f"cannot reach the Jupyter server at {self.url}: {error}",
                                        request=described) from error
            except http.client.HTTPException as error:
                self._drop()
                raise ServerUnreachable(f"no valid HTTP answer from {self.url}: {error!r}",
                                        request=described) from error
            except BaseException:
                # Interrupted (Ctrl-C) halfway through: the connection's state is unknown.
                self._drop()
                raise
            if response.will_close:
                self._drop()
            return response.status, response.reason, raw
        raise AssertionError("unreachable")

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._http is None:
            https = self._parts.scheme == "https"
            kind = http.client.HTTPSConnection if https else http.client.HTTPConnection
            self._http = kind(self._parts.hostname, self._parts.port, timeout=min(timeout, CONNECT_TIMEOUT_S))
            self._http.connect()
            # Small requests and answers: without this each may wait for a delayed ACK.
            self._http.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._http.sock.settimeout(timeout)
        return self._http

    def _drop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def close(self) -> None:
        """Closes the kept-alive connection; the next request opens a new one."""
        with self._lock:
            self._drop()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- convenience ---------------------------------------------------------------------------

    def version(self) -> dict:
        """`GET /version`: the versions of the backend (and a check that the extension answers)."""
        return self.request("GET", "version", timeout=10)

    def simulations(self) -> list[dict]:
        """`GET /simulation`: NRP's Simulation JSON of every simulation the server knows."""
        return self.request("GET", "simulation", timeout=10)

    def launch(self, experiment_id: str, **options):
        """Launches an experiment on this server: `nrp_jupyter.launch(experiment_id,
        connection=self, **options)` (`config`, `script`, `timeout`, `wait_for_slot`)."""
        return launch_on(self, experiment_id, **options)

    def events(self, simulation_id: int | None = None, *, timeout: float = 10):
        """A subscription to the /events WebSocket (`EventStream`); close it, or use `with`."""
        from .events import EventStream

        return EventStream(self, simulation_id, timeout=timeout)
