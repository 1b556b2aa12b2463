"""Errors of the notebook client, one class per HTTP status and NRP error type.

    NrpError                    base; .status (HTTP, None when no answer came), .type, .message, .data
    ├── BadRequest              400  "Client error": a bad body, a missing experiment or file
    │   └── StateTransitionError 400 "State Transition error": the lifecycle refuses the change
    ├── AuthError               the server refused who we are
    │   ├── Unauthorized        401  NRP's "only the owner may change a simulation"
    │   └── Forbidden           403  a missing or wrong token, or an authorizer's refusal
    ├── NotFound                404  unknown simulation id or experiment
    ├── Conflict                409  too many simulations, or the simulation is not final
    ├── ServerError             5xx  the server failed (e.g. the simulation could not initialise)
    ├── ServerUnreachable       no answer: connection refused, timeout, DNS
    ├── ServerNotFound          discovery found no Jupyter server to talk to
    ├── WaitTimeout             `Simulation.wait_until` ran out of time
    │   └── NoFreeSlot          `launch(..., wait_for_slot=)`: no simulation ended in time
    └── SimulationEnded         `Simulation.wait_until`: stopped or failed, not what was awaited

The server answers errors with NRP's body `{"message", "type", "data"}`; `error_from_response`
turns a status and body into the matching class. `.message`, `.type` and `.data` are NRP's
fields; `str(error)` adds the HTTP status and the request that failed.
"""

from __future__ import annotations

import json
from typing import ClassVar


class NrpError(Exception):
    """An error of the NRP REST API, or of reaching it.

    `status` is the HTTP status (None when the server did not answer), `type` NRP's error type
    ("Client error", "State Transition error", "General error", "" or None), `message` NRP's
    message, `data` NRP's optional extra field.
    """

    default_status: ClassVar[int | None] = None

    def __init__(self, message: str, *, status: int | None = None, type: str | None = None,  # noqa: A002
                 data: object = None, request: str | None = None):
        self.status = status if status is not None else self.default_status
        self.type = type
        self.message = message
        self.data = data
        self.request = request
        super().__init__(self._describe())

    def _describe(self) -> str:
        where = []
        if self.status is not None:
            where.append(f"HTTP {self.status}")
        if self.request:
            where.append(self.request)
        return f"{self.message} ({', '.join(where)})" if where else self.message

    @property
    def body(self) -> dict:
        """NRP's error body as the server sent it (or would have)."""
        return {"message": self.message, "type": self.type, "data": self.data}


class BadRequest(NrpError):
    default_status = 400


class StateTransitionError(BadRequest):
    """The lifecycle does not allow the requested state from the current one."""


class AuthError(NrpError):
    """The server does not accept the credentials, or does not allow the action."""


class Unauthorized(AuthError):
    default_status = 401


class Forbidden(AuthError):
    default_status = 403


class NotFound(NrpError):
    default_status = 404


class Conflict(NrpError):
    default_status = 409


class ServerError(NrpError):
    default_status = 500


class ServerUnreachable(NrpError):
    """No HTTP answer at all: nothing listens, the connection broke, or it timed out."""


class ServerNotFound(NrpError):
    """`Connection.discover()` found no running Jupyter server."""


class WaitTimeout(NrpError):
    """A wait for a simulation state ran out of time; `.state` is the last state seen."""

    def __init__(self, message: str, *, state: str | None = None):
        super().__init__(message)
        self.state = state


class NoFreeSlot(WaitTimeout):
    """A queued launch (`wait_for_slot`) found the server still at its maximum of active
    simulations when its time ran out; the message carries the server's, which names the maximum."""


class SimulationEnded(NrpError):
    """The simulation reached a final state other than the one waited for; `.state` says which."""

    def __init__(self, message: str, *, state: str | None = None):
        super().__init__(message)
        self.state = state


_BY_STATUS: dict[int, type[NrpError]] = {400: BadRequest, 401: Unauthorized, 403: Forbidden, 404: NotFound,
                                         409: Conflict}
STATE_TRANSITION_TYPE = "State Transition error"


def error_from_response(status: int, reason: str, raw_body: bytes, request: str) -> NrpError:
    """The error for an HTTP answer with a status >= 400.

    NRP's JSON body gives the message and type; any other body (tornado's HTML page for an
    unknown route, a proxy's text) falls back to the HTTP reason and the body's first line.
    """
    message, kind, data = _parse_body(raw_body)
    if status == 403 and message in (None, "", "Forbidden"):
        # Jupyter says no more than this; the usual cause is the token.
        message = "Forbidden: the server refused the token (missing, wrong, or not allowed to do this)"
    elif message is None:
        message = reason or f"HTTP {status}"
        if status == 404:
            message = f"{message}: no such route; is the nrp_jupyter extension enabled on this server?"
    if status == 400 and kind == STATE_TRANSITION_TYPE:
        cls: type[NrpError] = StateTransitionError
    elif status >= 500:
        cls = ServerError
    else:
        cls = _BY_STATUS.get(status, NrpError)
    return cls(message, status=status, type=kind, data=data, request=request)


def _parse_body(raw_body: bytes) -> tuple[str | None, str | None, object]:
    try:
        body = json.loads(raw_body)
    except (ValueError, UnicodeDecodeError):
        return None, None, None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None, None, None
    return body["message"], body.get("type"), body.get("data")
