"""Identity and authorization doubles for the auth tests, configured through ServerApp traits:

    ServerApp.identity_provider_class = "tests.nrp_jupyter.identity.HeaderIdentityProvider"
    ServerApp.authorizer_class = "tests.nrp_jupyter.identity.RecordingAuthorizer"
"""

from __future__ import annotations

from typing import ClassVar

from jupyter_server.auth import Authorizer, IdentityProvider, User

USER_HEADER = "X-Test-User"


class HeaderIdentityProvider(IdentityProvider):
    """Several users behind the server's one token: the token authenticates the request, the
    `X-Test-User` header names who sends it. A request without the token, or without the header,
    is not authenticated."""

    async def get_user(self, handler) -> User | None:
        if await self.get_user_token(handler) is None:
            return None
        name = handler.request.headers.get(USER_HEADER)
        if not name:
            return None
        # What IdentityProvider marks after a token check: such requests skip the XSRF check.
        handler._token_authenticated = True
        return User(username=name, name=name, display_name=name)


class RecordingAuthorizer(Authorizer):
    """Records every question it is asked as (user, action, resource) and refuses the pairs in
    `denied`. Class attributes, so a test sets and reads them without reaching the instance."""

    asked: ClassVar[list[tuple[str, str, str]]] = []
    denied: ClassVar[set[tuple[str, str]]] = set()

    def is_authorized(self, handler, user, action, resource) -> bool:
        type(self).asked.append((user.username, action, resource))
        return (action, resource) not in self.denied
