"""NRP's bearer tokens as Jupyter identities, on the extension's routes only (NRP mode).

NRP's frontend and proxy send `Authorization: Bearer <proxy token>`; NRP's backend learns whose
token it is by asking the proxy (`GET <proxy>/identity/me`, nrp_proxy.py) and makes that user the
owner of what the request launches. `ProxyIdentityProvider` does the same through jupyter_server's
IdentityProvider API, and hands every other request (Jupyter's token, as `token` or as `Bearer`,
and login cookies) to the server's own provider, so both work side by side.

It answers for the `/nrp/` routes only (handlers.NrpHandler picks it): a proxy token launches
simulations, it never opens Jupyter's own API (contents, kernels, terminals).

- A request it authenticates is token-authenticated, as Jupyter's own token is: no XSRF check,
  which protects cookie sessions only.
- A token the proxy refuses raises TokenRefused (401), a proxy that cannot be reached
  ProxyUnavailable (503): NRP's error bodies, rendered by NrpHandler.prepare. On a verb that
  answers without authentication (`@allow_unauthenticated`, e.g. the proxy's poll of
  GET /simulation with `Bearer false`) the token is not even looked at.
- Answers are cached for `ttl_s` seconds per token (nrp-proxy's own lookups are cached too), so a
  frontend's polling costs the proxy one request a minute, not one per poll.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import time
from dataclasses import dataclass

from jupyter_server.auth import IdentityProvider, User

from .nrp_proxy import ProxyClient

# Entries beyond this are dropped oldest first: a flood of distinct tokens cannot grow the cache.
MAX_CACHED_TOKENS = 4096


class NrpUser(User):
    """A user the NRP proxy vouched for; `username` is the proxy's user id, the simulation owner."""


def bearer_token(handler) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    scheme, _, token = handler.request.headers.get("Authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


@dataclass
class _Known:
    user: str
    until: float


class IdentityCache:
    """The proxy's answers to `/identity/me`, per token, for `ttl_s` seconds. Refusals are not
    kept: a token refused now is asked about again, since the proxy may know it a moment later."""

    def __init__(self, client: ProxyClient, ttl_s: float = 60.0):
        self.client = client
        self.ttl_s = ttl_s
        self._known: dict[str, _Known] = {}
        # One request per token at a time: a page that opens with five calls asks the proxy once.
        self._asking: dict[str, asyncio.Future] = {}

    async def user_of(self, token: str) -> str:
        # Tokens are kept only as digests: the cache is no list of live credentials.
        key = hashlib.sha256(token.encode()).hexdigest()
        known = self._known.get(key)
        if known is not None and known.until > time.monotonic():
            return known.user
        asking = self._asking.get(key)
        if asking is not None:
            return await asyncio.shield(asking)
        asking = self._asking[key] = asyncio.ensure_future(self.client.user_of(token))
        try:
            # Shielded: a request that goes away must not cancel the lookup the others wait for.
            user = await asyncio.shield(asking)
        finally:
            if asking.done():
                self._asking.pop(key, None)
            else:
                asking.add_done_callback(lambda _: self._asking.pop(key, None))
        if self.ttl_s > 0:
            self._known.pop(key, None)
            self._known[key] = _Known(user, time.monotonic() + self.ttl_s)
            while len(self._known) > MAX_CACHED_TOKENS:
                del self._known[next(iter(self._known))]
        return user


class ProxyIdentityProvider(IdentityProvider):
    """Bearer tokens through the NRP proxy; everything else through `server_provider`."""

    def __init__(self, *, server_provider: IdentityProvider, identities: IdentityCache, **kwargs):
        # The server's token, not a generated one: `JupyterHandler.token` reads it from here.
        super().__init__(token=server_provider.token, **kwargs)
        self.server_provider = server_provider
        self.identities = identities

    async def get_user(self, handler) -> User | None:
        token = bearer_token(handler)
        if token is None or self._is_server_token(token):
            user = self.server_provider.get_user(handler)
            return await user if inspect.isawaitable(user) else user
        if _answers_unauthenticated(handler):
            return None
        name = await self.identities.user_of(token)
        # What Jupyter's providers mark after a token check: the request needs no XSRF token.
        handler._token_authenticated = True
        return NrpUser(username=name)

    def is_token_authenticated(self, handler) -> bool:
        if isinstance(handler.current_user, NrpUser):
            return True
        return self.server_provider.is_token_authenticated(handler)

    def should_check_origin(self, handler) -> bool:
        return self.server_provider.should_check_origin(handler) and not isinstance(handler.current_user, NrpUser)

    def get_cookie_name(self, handler) -> str:
        return self.server_provider.get_cookie_name(handler)

    def clear_login_cookie(self, handler) -> None:
        self.server_provider.clear_login_cookie(handler)

    @property
    def auth_enabled(self) -> bool:
        return self.server_provider.auth_enabled

    @property
    def login_available(self) -> bool:
        return self.server_provider.login_available

    def _is_server_token(self, token: str) -> bool:
        server_token = self.server_provider.token
        return bool(server_token) and hmac.compare_digest(token.encode(), server_token.encode())


def _answers_unauthenticated(handler) -> bool:
    """True for a verb marked `@allow_unauthenticated` (the routes NRP leaves open)."""
    method = getattr(handler, (handler.request.method or "").lower(), None)
    return bool(getattr(method, "__allow_unauthenticated", False))
