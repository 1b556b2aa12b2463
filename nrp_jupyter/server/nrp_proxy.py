"""nrp-proxy's API as this server uses it in NRP mode: who holds a bearer token, what an
experiment's folder holds, one file's bytes, and a run's archive written back.

The routes, as nrp-proxy 4.1 serves them (app.ts) and NRP's backend calls them (its storage client):

    GET  <proxy>/identity/me                          {"id", "displayName"} of the token's user
    GET  <proxy>/storage/<folder>                     [{"name", "uuid", "type": "file"|"folder", "size"}]
    GET  <proxy>/storage/<folder>/<name>?byname=true  the file's bytes
    POST <proxy>/storage/<experiment>/<name>          a file's bytes (application/octet-stream)

`<proxy>` is the address NRP's backend is given: behind NRP's haproxy `http://<host>:9000/storage`
(haproxy strips the leading `/storage` before the proxy sees the path), or the proxy itself,
`http://<host>:8443`. Every request carries `Authorization: Bearer <the caller's token>`.

What the proxy answers when it refuses (FS storage): a token it does not know is 477 (its body
tells the frontend where to log in); a folder the user may not read, or that does not exist, 403
"Authentication error"; a file it cannot read, 204 with no body. Each becomes one typed error here.
"""

from __future__ import annotations

import json
import logging
import pathlib
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from tornado.httpclient import AsyncHTTPClient, HTTPRequest, HTTPResponse

from .errors import ExperimentNotFound, ProxyFailed, ProxyUnavailable, TokenRefused, clipped

log = logging.getLogger(__name__)

# Statuses with which the proxy refuses a token: its own 477 (FS and Collab authenticators), and
# what an OIDC front or another proxy version may answer instead.
TOKEN_REFUSALS = frozenset({401, 403, 477})
# Statuses with which it says that a folder is not there for this user.
NOT_THERE = frozenset({403, 404})
# tornado's code for "no HTTP answer at all" (refused connection, timeout, DNS).
NO_ANSWER = 599
# A listing is a few hundred bytes per entry; one past this is not a listing.
MAX_LISTING_BYTES = 4 * 1024 * 1024
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Entry:
    """One entry of a folder listing. `uuid` is the proxy's id of the entry (`<experiment>/<name>`
    in FS storage), by which a sub-folder is listed in turn."""

    name: str
    uuid: str
    kind: Literal["file", "folder"]


class LimitReached(Exception):
    """A download past the bound it was given; what was written is left for the caller to remove."""


class ProxyClient:
    """Requests to one nrp-proxy; `url` as in the module docstring, `timeout_s` per request."""

    def __init__(self, url: str, timeout_s: float = 60.0):
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s

    async def user_of(self, token: str) -> str:
        """The NRP user id the proxy gives for `token` (NRP's backend takes `id` as the owner)."""
        response = await self._fetch("GET", "/identity/me", token, max_bytes=MAX_LISTING_BYTES)
        if response.code in TOKEN_REFUSALS or response.code == 404:
            # FS storage answers 404 for a token no user holds ("getUserInfo: user id not found").
            raise _refusal(self.url, response)
        self._check(response, "GET /identity/me")
        try:
            user = json.loads(response.body)["id"]
        except (ValueError, KeyError, TypeError):
            raise ProxyFailed(self.url, f"answered GET /identity/me without a user id: "
                                        f"{clipped(response.body.decode(errors='replace'))}") from None
        if not isinstance(user, str) or not user:
            raise ProxyFailed(self.url, f"answered GET /identity/me with the user id {user!r}")
        return user

    async def list_folder(self, experiment_id: str, folder: str, token: str) -> list[Entry]:
        """The entries of `folder` (an experiment id, or a sub-folder's uuid) of `experiment_id`."""
        path = f"/storage/{quote(folder, safe='')}"
        response = await self._fetch("GET", path, token, max_bytes=MAX_LISTING_BYTES)
        if response.code == 477 or response.code == 401:
            raise _refusal(self.url, response)
        if response.code in NOT_THERE:
            raise ExperimentNotFound(experiment_id, "the NRP proxy's storage (or it is not shared with you)")
        self._check(response, f"GET {path}")
        try:
            listing = json.loads(response.body)
            return [Entry(name=item["name"], uuid=item.get("uuid") or "", kind=item["type"])
                    for item in listing if item.get("type") in ("file", "folder")]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise ProxyFailed(self.url, f"answered GET {path} with something other than a folder listing: "
                                        f"{clipped(response.body.decode(errors='replace'))}") from None

    async def download(self, experiment_id: str, folder: str, name: str, token: str, destination: pathlib.Path,
                       limit_bytes: int) -> int:
        """Streams the file `name` of `folder` into `destination` (created); returns its size.
        Raises LimitReached past `limit_bytes`."""
        path = f"/storage/{quote(folder, safe='')}/{quote(name, safe='')}?byname=true"
        written = 0
        too_large = False

        def announced(line: str) -> None:
            nonlocal too_large
            header, _, value = line.partition(":")
            if header.strip().lower() == "content-length" and value.strip().isdigit():
                too_large = too_large or int(value) > limit_bytes

        with open(destination, "xb") as output:
            def write(chunk: bytes) -> None:
                nonlocal written, too_large
                written += len(chunk)
                if written > limit_bytes:
                    too_large = True
                    raise LimitReached  # tornado ends the transfer on it
                output.write(chunk)

            try:
                # The client's own body bound lies above ours, so that ours is the one that ends it.
                response = await self._fetch("GET", path, token, streaming_callback=write,
                                             header_callback=announced, max_bytes=limit_bytes + CHUNK_BYTES)
            except ProxyUnavailable:
                if not too_large:
                    raise
        if too_large:
            raise LimitReached
        if response.code in (477, 401):
            raise _refusal(self.url, response)
        if response.code == 204 or response.code in NOT_THERE:
            raise ProxyFailed(self.url, f"listed '{name}' in the experiment '{experiment_id}' but does not "
                                        f"give it (HTTP {response.code} to GET {path})")
        self._check(response, f"GET {path}")
        return written

    async def upload(self, experiment_id: str, name: str, source: pathlib.Path, token: str) -> None:
        """Writes the file `source` as `name` into the experiment's folder, as NRP's backend writes
        a run's log archive at stop."""
        path = f"/storage/{quote(experiment_id, safe='')}/{quote(name, safe='')}"

        async def body(write) -> None:
            with open(source, "rb") as data:
                while chunk := data.read(CHUNK_BYTES):
                    await write(chunk)

        response = await self._fetch("POST", path, token, body_producer=body, max_bytes=MAX_LISTING_BYTES,
                                     headers={"Content-Type": "application/octet-stream",
                                              "Content-Length": str(source.stat().st_size)})
        if response.code in (477, 401):
            raise _refusal(self.url, response)
        if response.code in NOT_THERE:
            raise ExperimentNotFound(experiment_id, "the NRP proxy's storage (or it is not shared with you)")
        self._check(response, f"POST {path}")

    async def _fetch(self, method: str, path: str, token: str, *, max_bytes: int,
                     headers: dict[str, str] | None = None, **options) -> HTTPResponse:
        # An instance per request: the shared one has one body bound for every caller, and a
        # download's bound is the experiment's.
        client = AsyncHTTPClient(force_instance=True, max_body_size=max_bytes, max_buffer_size=max(max_bytes, 1))
        request = HTTPRequest(self.url + path, method=method,
                              headers={"Authorization": f"Bearer {token}", **(headers or {})},
                              connect_timeout=self.timeout_s, request_timeout=self.timeout_s,
                              follow_redirects=False, **options)
        try:
            # raise_error=False answers every HTTP status; what is raised had no HTTP answer at all
            # (refused connection, timeout, a transfer cut short, or a body bound reached).
            response = await client.fetch(request, raise_error=False)
        except Exception as error:  # noqa: BLE001 (tornado raises OSErrors and several of its own)
            raise ProxyUnavailable(self.url, f"{method} {path}: {_reason(error)}") from error
        finally:
            client.close()
        if response.code == NO_ANSWER:
            raise ProxyUnavailable(self.url, f"{method} {path}: {_reason(response.error)}")
        log.debug("nrp-proxy: %s %s -> %d", method, path, response.code)
        return response

    def _check(self, response: HTTPResponse, what: str) -> None:
        if 200 <= response.code < 300:
            return
        text = clipped((response.body or b"").decode(errors="replace").strip())
        raise ProxyFailed(self.url, f"answered HTTP {response.code} to {what}" + (f": {text}" if text else ""))


def _reason(error: BaseException | None) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _refusal(proxy: str, response: HTTPResponse) -> TokenRefused:
    """The proxy's refusal of a token, with its login hint when it sent one (477's JSON body)."""
    try:
        login = json.loads(response.body or b"")
    except ValueError:
        login = None
    return TokenRefused(proxy, response.code, login if isinstance(login, dict) else None)
