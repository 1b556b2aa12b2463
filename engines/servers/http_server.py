"""A small HTTP/1.1 server for the JSON engine protocol.

The protocol is a handful of POST routes with JSON bodies, from a client that keeps one
connection open and sends one request at a time, thousands of times per simulated second.
What matters is the per-request cost, so this server does only what that needs:
keep-alive, Content-Length and chunked bodies, `Expect: 100-continue` (libcurl sends it for
large bodies), TCP_NODELAY, one thread per connection and blocking sockets. Parsing headers
by hand avoids http.server's email parser (about 30 µs per request, several times what this
server spends parsing).
"""

import errno
import logging
import selectors
import socket
import threading
from collections.abc import Callable
from typing import NamedTuple

from engines.engine_wire import JSON_CONTENT_TYPE

log = logging.getLogger(__name__)

_MAX_LINE = 65536
_MAX_HEADERS = 100
_CONTENT_TYPE = JSON_CONTENT_TYPE.encode("ascii")
_REASONS = {200: b"OK", 400: b"Bad Request", 404: b"Not Found", 405: b"Method Not Allowed",
            500: b"Internal Server Error"}


class Response(NamedTuple):
    status: int
    body: bytes
    # Runs once the response is on the wire: the shutdown route stops the process only then.
    then: Callable[[], None] | None = None


# (method, path, body) -> Response. It must not raise; the server answers 500 if it does.
Handler = Callable[[bytes, str, bytes], Response]


class BadRequest(Exception):
    """A request that is not HTTP/1.x as this server understands it; the connection is closed."""


class HttpServer:
    """Serves `handler` on one listening socket until `stop()`."""

    def __init__(self, handler: Handler):
        self._handler = handler
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._accept_thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._stopping = False

    def bind(self, host: str, port: int, *, free_port_if_taken: bool = True) -> tuple[str, int]:
        """Listen on (host, port), or on a free port of host if port is taken and
        `free_port_if_taken`; the bound address."""
        family, _, _, _, sockaddr = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM,
                                                       flags=socket.AI_PASSIVE)[0]
        try:
            listener = _listen(family, sockaddr)
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE or not free_port_if_taken:
                raise
            log.warning("port %d is in use; binding a free port instead", port)
            listener = _listen(family, (sockaddr[0], 0) + tuple(sockaddr[2:]))
        self._listener = listener
        return listener.getsockname()[:2]

    def start(self) -> None:
        self._accept_thread = threading.Thread(target=self._accept_loop, name="http-accept", daemon=True)
        self._accept_thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Close the listener and every connection; wait up to `timeout` for their threads.

        A thread still inside a long handler call is left behind (daemon) rather than waited for.
        """
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
            connections = dict(self._connections)
        self._wake_w.send(b"x")
        if self._accept_thread is not None:
            self._accept_thread.join(1.0)  # it returns as soon as it sees the wake-up
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in connections.values():
            thread.join(timeout)
        if self._listener is not None:
            self._listener.close()
        self._wake_r.close()
        self._wake_w.close()

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = [key.fileobj for key, _ in selector.select()]
                if self._wake_r in ready:
                    return
                try:
                    conn, _ = self._listener.accept()
                except OSError as exc:
                    log.warning("accept failed: %s", exc)
                    continue
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                thread = threading.Thread(target=self._serve_connection, args=(conn,), name="http-conn",
                                          daemon=True)
                with self._lock:
                    if self._stopping:
                        conn.close()
                        return
                    self._connections[conn] = thread
                thread.start()

    def _serve_connection(self, conn: socket.socket) -> None:
        rfile = conn.makefile("rb", buffering=65536)
        try:
            while self._serve_request(conn, rfile):
                pass
        except BadRequest as exc:
            log.warning("closing connection after a bad request: %s", exc)
            _send(conn, 400, b'"bad request"', keep_alive=False)
        except OSError:
            pass  # the client went away, or stop() shut the socket down
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            rfile.close()
            conn.close()

    def _serve_request(self, conn: socket.socket, rfile) -> bool:
        """Serve one request; False when the connection is to be closed."""
        line = rfile.readline(_MAX_LINE + 1)
        while line in (b"\r\n", b"\n"):  # RFC 9112: ignore empty lines before a request line
            line = rfile.readline(_MAX_LINE + 1)
        if not line:
            return False
        parts = line.split()
        if len(parts) != 3 or not parts[2].startswith(b"HTTP/1.") or len(line) > _MAX_LINE:
            raise BadRequest(f"request line {line[:100]!r}")
        method, target, version = parts
        headers = _read_headers(rfile)

        connection = headers.get(b"connection", b"").lower()
        if version == b"HTTP/1.0":
            keep_alive = b"keep-alive" in connection
        else:
            keep_alive = b"close" not in connection
        if headers.get(b"expect", b"").lower() == b"100-continue":
            conn.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = _read_body(rfile, headers)

        try:
            response = self._handler(method, target.decode("latin-1"), body)
        except Exception:
            log.exception("request handler failed")
            response = Response(500, b'"internal server error"')
        # An HTTP/1.0 client only keeps the connection if the response says so.
        _send(conn, response.status, response.body, keep_alive, announce=version == b"HTTP/1.0")
        if response.then is not None:
            response.then()
        return keep_alive


def _listen(family, sockaddr) -> socket.socket:
    listener = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR lets a restarted engine reuse a port in TIME_WAIT; unlike SO_REUSEPORT it never
    # lets two live servers share a port. With it, two engines starting at once may both bind the
    # same port; the second then fails in listen(), which is why both calls sit under one fallback.
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(sockaddr)
        listener.listen(64)
    except BaseException:
        listener.close()
        raise
    return listener


def _read_headers(rfile) -> dict[bytes, bytes]:
    headers = {}
    for _ in range(_MAX_HEADERS + 1):
        line = rfile.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            return headers
        if len(line) > _MAX_LINE:
            raise BadRequest("header line too long")
        name, sep, value = line.partition(b":")
        if not sep:
            raise BadRequest(f"header line {line[:100]!r}")
        headers[name.strip().lower()] = value.strip()
    raise BadRequest("too many headers")


def _read_body(rfile, headers: dict[bytes, bytes]) -> bytes:
    if b"chunked" in headers.get(b"transfer-encoding", b"").lower():
        return _read_chunked(rfile)
    length = headers.get(b"content-length")
    if length is None:
        return b""
    if not length.isdigit():
        raise BadRequest(f"Content-Length {length!r}")
    body = rfile.read(int(length))
    if len(body) != int(length):
        raise OSError("connection closed inside a request body")
    return body


def _read_chunked(rfile) -> bytes:
    chunks = []
    while True:
        size_line = rfile.readline(_MAX_LINE + 1)
        try:
            size = int(size_line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BadRequest(f"chunk size {size_line[:100]!r}") from None
        if size == 0:
            _read_headers(rfile)  # trailers, discarded
            return b"".join(chunks)
        chunk = rfile.read(size)
        if len(chunk) != size:
            raise OSError("connection closed inside a chunk")
        chunks.append(chunk)
        rfile.readline(_MAX_LINE + 1)  # the CRLF after the chunk


def _send(conn: socket.socket, status: int, body: bytes, keep_alive: bool, announce: bool = False) -> None:
    if not keep_alive:
        connection = b"Connection: close\r\n"
    else:
        connection = b"Connection: keep-alive\r\n" if announce else b""
    head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (
        status, _REASONS.get(status, b"Error"), _CONTENT_TYPE, len(body), connection)
    # One send per response: with TCP_NODELAY, separate header and body writes would be two segments.
    conn.sendall(head + body)
