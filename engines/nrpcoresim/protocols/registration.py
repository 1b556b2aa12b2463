"""The engine registration server: engines POST their name and address once they serve
(engines.engine_wire's registration).

One per simulation. It tells the client where each engine really listens, which may differ from
the configured `ServerAddress` when that port was taken.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from engines import engine_wire as wire

log = logging.getLogger(__name__)


class RegistrationServer:
    def __init__(self, preferred_address: str = "localhost:9001"):
        self._addresses: dict[str, str] = {}
        self._changed = threading.Condition()
        host, _, port = preferred_address.rpartition(":")
        handler = self._handler_class()
        try:
            self._http = ThreadingHTTPServer((host or "localhost", int(port)), handler)
        except OSError:
            # Another simulation holds the configured port: any free port serves as well, since
            # engines launched here are told the actual address on their command line.
            self._http = ThreadingHTTPServer((host or "localhost", 0), handler)
        self._http.daemon_threads = True
        self.address = f"{host or 'localhost'}:{self._http.server_address[1]}"
        self._thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="nrp-registration", daemon=True)
        self._thread.start()

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length) or b"null")
                    name, address = body[wire.ENGINE_NAME], body[wire.REGISTERED_ADDRESS]
                except (ValueError, KeyError, TypeError):
                    self._answer(400, f'expected {{"{wire.ENGINE_NAME}": ..., '
                                      f'"{wire.REGISTERED_ADDRESS}": ...}}')
                    return
                server.register(str(name), str(address))
                self._answer(200, "")

            def _answer(self, status: int, text: str):
                payload = json.dumps(text).encode()
                self.send_response(status)
                self.send_header("Content-Type", wire.JSON_CONTENT_TYPE)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format, *args):  # noqa: A002 (http.server's signature)
                log.debug("registration: " + format, *args)

        return Handler

    def register(self, engine_name: str, address: str) -> None:
        log.debug("engine %s registered at %s", engine_name, address)
        with self._changed:
            self._addresses[engine_name] = address
            self._changed.notify_all()

    def forget(self, engine_name: str) -> None:
        with self._changed:
            self._addresses.pop(engine_name, None)

    def wait_for(self, engine_name: str, timeout_s: float, still_alive) -> str | None:
        """The engine's address once registered; None on timeout or when `still_alive()` is false."""
        with self._changed:
            remaining = timeout_s
            while engine_name not in self._addresses:
                if remaining <= 0 or not still_alive():
                    return None
                slice_s = min(0.05, remaining)
                self._changed.wait(slice_s)
                remaining -= slice_s
            return self._addresses[engine_name]

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()
        self._thread.join(timeout=2)


def set_nodelay(sock: socket.socket) -> None:
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
