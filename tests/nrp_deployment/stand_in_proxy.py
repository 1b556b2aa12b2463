"""A stand-in for nrp-proxy's identity and storage API, with exactly the routes nrp-jupyter calls
in NRP mode. It stands in for the real proxy (a Node application of NRP's) because that proxy is
not this project's to commit; the routes, bodies and refusals follow nrp-proxy 4.1 with its FS
storage and FS authentication (app.ts, storage/FS/*.ts):

    GET  /identity/me                          {"id": <user>, "displayName": <user>}; 477 for an unknown token
    GET  /storage/<folder>                     [{"name", "uuid", "size", "type": "file"|"folder", "modifiedOn"}];
                                               403 "Authentication error" for a folder the user may not read
    GET  /storage/<folder>/<name>?byname=true  the file's bytes; 204 for a file it cannot read
    POST /storage/<experiment>/<name>          writes the body as the file

Experiments are folders under `root`, each owned by one user. Tests change what it answers through
its attributes (users, extra_entries, refuse_uploads) and read what it was asked in `requests`.
"""

from __future__ import annotations

import json
import pathlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

# nrp-proxy's answer to a token it does not know (FS authenticator's checkToken).
UNKNOWN_TOKEN = 477
LOGIN_HINT = json.dumps({"mode": "local", "url": "/authentication/loginpage?origin=FS", "clientId": "nrp"})


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict
    authorization: str
    content_type: str | None = None
    body: bytes = b""


@dataclass
class StandInProxy:
    root: pathlib.Path
    users: dict[str, str] = field(default_factory=dict)
    """token -> user id"""
    owners: dict[str, str] = field(default_factory=dict)
    """experiment -> user id"""
    extra_entries: dict[str, list[dict]] = field(default_factory=dict)
    """folder -> listing entries added to what the folder holds (names the real disk cannot have)"""
    refuse_uploads: int | None = None
    """a status with which every upload is answered, or None"""
    fail_with: int | None = None
    """a status with which every request is answered (the proxy's own failure), or None"""
    answers: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    """path (as sent, quoted) -> (status, body) answered instead of the route's own, for answers the
    real proxy may give but its disk cannot produce"""
    slow_tokens: dict[str, float] = field(default_factory=dict)
    """token -> seconds its requests wait before they are answered"""
    requests: list[Request] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    """<experiment>/<name> -> body of each upload"""

    def __post_init__(self):
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> StandInProxy:
        proxy = self

        class Handler(_Handler):
            stand_in = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="stand-in-nrp-proxy", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def asked(self, method: str, path_start: str) -> list[Request]:
        return [request for request in list(self.requests)
                if request.method == method and request.path.startswith(path_start)]

    # -- what the routes answer ------------------------------------------------------------------

    def user_of(self, authorization: str) -> str | None:
        scheme, _, token = authorization.partition(" ")
        return self.users.get(token) if scheme.lower() == "bearer" else None

    def readable(self, user: str, folder: str) -> pathlib.Path | None:
        experiment = folder.split("/")[0]
        path = (self.root / folder).resolve()
        if self.owners.get(experiment) != user or not path.is_relative_to(self.root.resolve()):
            return None
        return path


class _Handler(BaseHTTPRequestHandler):
    stand_in: StandInProxy
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the tests read `requests`
        pass

    def _record(self, body: bytes = b"") -> tuple[list[str], dict]:
        parts = urlsplit(self.path)
        # express decodes each path parameter, %2F included.
        segments = [unquote(segment) for segment in parts.path.split("/")[1:]]
        self.stand_in.requests.append(Request(self.command, parts.path, parse_qs(parts.query),
                                              self.headers.get("Authorization", ""),
                                              self.headers.get("Content-Type"), body))
        return segments, parse_qs(parts.query)

    def _answer(self, status: int, body: bytes = b"", content_type: str = "application/json") -> None:
        self.send_response(status)
        if status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 204:
            self.wfile.write(body)

    def do_GET(self) -> None:
        segments, query = self._record()
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        if token in self.stand_in.slow_tokens:
            time.sleep(self.stand_in.slow_tokens[token])
        if self.stand_in.fail_with is not None:
            return self._answer(self.stand_in.fail_with, b"Internal error", "text/html")
        path = urlsplit(self.path).path
        if path in self.stand_in.answers:
            return self._answer(*self.stand_in.answers[path])
        user = self.stand_in.user_of(self.headers.get("Authorization", ""))
        if user is None:
            return self._answer(UNKNOWN_TOKEN, LOGIN_HINT.encode(), "text/html")
        if segments == ["identity", "me"]:
            return self._answer(200, json.dumps({"id": user, "displayName": user}).encode())
        if len(segments) == 2 and segments[0] == "storage":
            return self._list(user, segments[1])
        if len(segments) == 3 and segments[0] == "storage" and query.get("byname") == ["true"]:
            return self._file(user, segments[1], segments[2])
        self._answer(404, b"not a route of the stand-in")

    def _list(self, user: str, folder: str) -> None:
        path = self.stand_in.readable(user, folder)
        if path is None or not path.is_dir():
            return self._answer(403, b"Authentication error", "text/html")
        entries = [{"name": child.name, "uuid": f"{folder}/{child.name}", "size": child.stat().st_size,
                    "type": "folder" if child.is_dir() else "file", "modifiedOn": "2026-12-07T00:00:00Z"}
                   for child in sorted(path.iterdir())]
        entries.extend(self.stand_in.extra_entries.get(folder, []))
        self._answer(200, json.dumps(entries).encode())

    def _file(self, user: str, folder: str, name: str) -> None:
        path = self.stand_in.readable(user, f"{folder}/{name}")
        if path is None or not path.is_file():
            return self._answer(204)
        self._answer(200, path.read_bytes(), "application/octet-stream")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        segments, _ = self._record(body)
        user = self.stand_in.user_of(self.headers.get("Authorization", ""))
        if user is None:
            return self._answer(UNKNOWN_TOKEN, LOGIN_HINT.encode(), "text/html")
        if self.stand_in.refuse_uploads is not None:
            return self._answer(self.stand_in.refuse_uploads, b"upload refused by the test")
        if len(segments) != 3 or segments[0] != "storage":
            return self._answer(404, b"not a route of the stand-in")
        target = self.stand_in.readable(user, f"{segments[1]}/{segments[2]}")
        if target is None:
            return self._answer(403, b"Authentication error", "text/html")
        target.write_bytes(body)
        self.stand_in.uploads[f"{segments[1]}/{segments[2]}"] = body
        self._answer(200, b"")
