"""A small blocking client of the server's `/events` WebSocket, for one panel's updater thread.

The socket goes through the Jupyter server (and so through any proxy in front of it) with the
server's token. Refusals that a retry cannot cure (bad token, no such simulation) raise
`StreamRefused`; everything else that breaks the connection raises `StreamLost`, and the
caller reconnects after `Backoff.next_delay()`.
"""

from __future__ import annotations

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
from websockets.sync.client import ClientConnection, connect

# An image datapack of 640x480 rgb8 is 1.2 MB of base64; the library's default limit is 1 MiB.
MAX_FRAME_BYTES = 16 * 1024 * 1024
# HTTP answers to the handshake that will not change by trying again.
FINAL_REFUSALS = frozenset({400, 401, 403, 404})


class StreamRefused(Exception):
    """The server refused the socket for good (e.g. 403 with a wrong token)."""

    def __init__(self, url: str, status: int | None, reason: str):
        super().__init__(f"the server refused the event stream {url} ({reason})")
        self.status = status


class StreamLost(Exception):
    """The socket could not be opened, or it closed; trying again may work."""


class Backoff:
    """Delays between reconnection attempts: doubling from `first` up to `most`."""

    def __init__(self, first: float = 0.2, most: float = 5.0):
        self.first, self.most = first, most
        self._next = first

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self.most, self._next * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


class EventStream:
    """One connection to `url`; `receive()` returns the next text frame, or None on timeout."""

    def __init__(self, url: str, headers: dict[str, str], open_timeout: float = 10.0):
        self.url = url
        self._headers = dict(headers)
        self._open_timeout = open_timeout
        self._socket: ClientConnection | None = None

    def connect(self) -> None:
        try:
            self._socket = connect(self.url, additional_headers=self._headers, open_timeout=self._open_timeout,
                                   max_size=MAX_FRAME_BYTES, close_timeout=1.0)
        except InvalidStatus as error:
            status = error.response.status_code
            reason = f"HTTP {status} {error.response.reason_phrase}".strip()
            if status in FINAL_REFUSALS:
                raise StreamRefused(self.url, status, reason) from None
            raise StreamLost(f"{self.url}: {reason}") from None
        except InvalidURI as error:
            raise StreamRefused(self.url, None, str(error)) from None
        except (OSError, TimeoutError, InvalidHandshake) as error:
            raise StreamLost(f"{self.url}: {error or type(error).__name__}") from None

    def receive(self, timeout: float) -> str | None:
        if self._socket is None:
            raise StreamLost(f"{self.url}: not connected")
        try:
            frame = self._socket.recv(timeout=timeout)
        except TimeoutError:
            return None
        except ConnectionClosed as error:
            raise StreamLost(f"{self.url}: connection closed ({error})") from None
        except OSError as error:
            raise StreamLost(f"{self.url}: {error}") from None
        return frame if isinstance(frame, str) else frame.decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
