"""REST and WebSocket handlers, thin: parse, call the simulations service once, serialise.

NRP v4's API under `<base_url>nrp/`: /simulation, /simulation/<id>, /simulation/<id>/state,
/version; and beyond NRP: DELETE /simulation/<id>, /simulation/<id>/logs, /experiments, /openapi.json and the
/events WebSocket. Every verb is authenticated and authorized on the resource `nrp:simulations`;
launching and changing a state are `execute`. In NRP mode (`NrpJupyterApp.nrp_proxy_url`) the
routes also accept NRP's bearer tokens (identity.py), and the two reads NRP's backend serves to
anyone, GET /simulation (the proxy's poll) and GET /version, answer without authentication.
"""

from __future__ import annotations

import functools
import getpass
import json
import pathlib

from jupyter_server.auth.decorator import allow_unauthenticated, authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async, url_path_join
from tornado import web, websocket

from .errors import NrpError, TokenRefused, shown
from .experiment_catalog import describe_experiments
from .identity import NrpUser, bearer_token
from .limits import MAX_ID_DIGITS
from .limits import simulation_id as parse_simulation_id
from ..version import __version__

AUTH_RESOURCE = "nrp:simulations"
_SIMULATION = r"(?P<simulation_id>\d+)"
# An engine or datapack name: one path segment.
_NAME = r"(?P<{}>[^/]+)"
OPENAPI_FILE = pathlib.Path(__file__).with_name("openapi.json")


def token_refusal(handler: JupyterHandler) -> str:
    """Why an unauthenticated request is refused, in words that name the token; Jupyter's own
    answers name what it checks next (`'_xsrf' argument missing from POST`, or just Forbidden)."""
    given = handler.request.headers.get("Authorization") or handler.get_argument("token", None)
    if given:
        return ("The token is wrong: this server does not accept the token the request carries "
                "(its Authorization header or ?token=). Use the token the Jupyter server printed at start.")
    return ("No token: this server answers only requests that carry its token, in an "
            "'Authorization: token <token>' header or as ?token=<token>.")


def _unauthenticated(handler: JupyterHandler) -> bool:
    # Set by JupyterHandler.prepare once the identity provider has looked the request up.
    return getattr(handler, "_jupyter_current_user", "not yet") is None


def nrp_errors(method):
    """Answers the service's errors with NRP's status code and body `{message, type, data}`."""

    @functools.wraps(method)
    async def wrapper(self, *args, **kwargs):
        try:
            return await method(self, *args, **kwargs)
        except NrpError as error:
            self.set_status(error.http_status)
            self.finish(json.dumps(error.body()))

    return wrapper


class NrpHandler(ExtensionHandlerMixin, APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def simulations(self):
        unavailable = self.settings.get("nrp_unavailable")
        if unavailable is not None:
            raise unavailable
        return self.settings["nrp_simulations"]

    @property
    def identity_provider(self):
        # NRP mode's provider (bearer tokens through the NRP proxy, the rest through the server's
        # own provider) serves these routes only, never Jupyter's own API.
        return self.settings.get("nrp_identity_provider") or super().identity_provider

    async def prepare(self):
        try:
            return await super().prepare()
        except NrpError as error:
            # Raised while the request's identity was looked up (a refused token, an unreachable
            # proxy): NRP's body, with the error's own status, instead of a 500.
            if isinstance(error, TokenRefused) and error.http_status == 401:
                self.set_header("WWW-Authenticate", 'Bearer error="invalid_token"')
            self.set_status(error.http_status)
            self.finish(json.dumps(error.body()))

    @property
    def proxy_token(self) -> str | None:
        """The caller's NRP proxy token, when the proxy vouched for the caller (NRP mode)."""
        return bearer_token(self) if isinstance(self.current_user, NrpUser) else None

    @property
    def user_name(self) -> str:
        """The owner of what this request launches, and whose simulations it may change."""
        if isinstance(self.current_user, NrpUser):
            return self.current_user.username  # the proxy's user id, as NRP's backend takes it
        provider = type(super().identity_provider)
        if provider.__module__.startswith("jupyter_server."):
            # Jupyter's own identity providers know one principal, whoever holds the token or
            # password, and name it anew for each cookie-less request: that principal is the
            # account the server runs as.
            return getpass.getuser()
        return self.current_user.username

    def write_json(self, value, status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(value))

    def check_xsrf_cookie(self):
        # A request without a valid token is refused for that, not for its missing _xsrf field.
        if _unauthenticated(self):
            raise web.HTTPError(403, token_refusal(self))
        return super().check_xsrf_cookie()

    def write_error(self, status_code: int, **kwargs) -> None:
        """Errors raised outside the service (auth, tornado) in NRP's body too."""
        error = kwargs.get("exc_info", (None, None, None))[1]
        if status_code == 403 and _unauthenticated(self):
            message, kind = token_refusal(self), "Client error"
        elif isinstance(error, web.HTTPError):
            message = error.log_message or error.reason or self._reason
            kind = "Client error" if status_code < 500 else "General error"
        else:
            message, kind = f"Internal server error: {error}", "General error"
        self.finish(json.dumps({"message": message, "type": kind, "data": None}))


class SimulationsHandler(NrpHandler):
    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self):
        self.write_json([record.to_nrp_json() for record in self.simulations.list()])

    @web.authenticated
    @authorized(action="execute")
    @nrp_errors
    async def post(self):
        # The raw body: the request models decode it and say what is wrong with it, if anything.
        record = await self.simulations.launch(self.request.body, owner=self.user_name,
                                               proxy_token=self.proxy_token)
        self.set_header("Location", url_path_join(self.base_url, "nrp", "simulation", str(record.simulation_id)))
        self.write_json(record.to_nrp_json(), status=201)


class SimulationHandler(NrpHandler):
    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id):
        self.write_json(self.simulations.get(parse_simulation_id(simulation_id)).to_nrp_json())

    @web.authenticated
    @authorized
    @nrp_errors
    async def delete(self, simulation_id):
        await self.simulations.delete(parse_simulation_id(simulation_id), user=self.user_name)
        self.set_status(204)
        self.finish()


class SimulationStateHandler(NrpHandler):
    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id):
        self.write_json({"state": self.simulations.get(parse_simulation_id(simulation_id)).state.value})

    @web.authenticated
    @authorized(action="execute")
    @nrp_errors
    async def put(self, simulation_id):
        record = await self.simulations.set_state(parse_simulation_id(simulation_id), self.request.body,
                                                  user=self.user_name, proxy_token=self.proxy_token)
        self.write_json({"state": record.state.value})


class SimulationLogsHandler(NrpHandler):
    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id):
        self.write_json(self.simulations.logs(parse_simulation_id(simulation_id)))


class SimulationDetailsHandler(NrpHandler):
    """NRP's Simulation JSON plus what NRP only ever publishes on MQTT (the last runtime error, the
    failure reason, the last status), for clients that open after the fact."""

    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id):
        self.write_json(self.simulations.get(parse_simulation_id(simulation_id)).describe())


class ExperimentsHandler(NrpHandler):
    """Beyond NRP: the storage's experiments with the configs and main scripts a launch may name."""

    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self):
        _ = self.simulations  # like every route, a server that cannot keep records answers 503
        self.write_json(describe_experiments(self.settings["nrp_storage"]))


class SimulationDataPackHandler(NrpHandler):
    """Steering (PUT: applied at the engine's next step; 200 once applied, else 202 with the ticket
    to look at) and the engine's latest value (GET) of one datapack; our routes, not NRP's."""

    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id, engine, datapack):
        self.write_json(await self.simulations.controls.read(parse_simulation_id(simulation_id), engine, datapack))

    @web.authenticated
    @authorized(action="execute")
    @nrp_errors
    async def put(self, simulation_id, engine, datapack):
        status, answer = await self.simulations.controls.steer(parse_simulation_id(simulation_id), engine, datapack,
                                                               self.request.body, user=self.user_name)
        if status == 202:
            self.set_header("Location", url_path_join(self.base_url, "nrp", answer["location"]))
        self.write_json(answer, status=status)


class SimulationSteeringHandler(NrpHandler):
    """The steering controls the simulation's experiment declares (steering.json)."""

    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id):
        self.write_json({"controls": self.simulations.controls.declarations(parse_simulation_id(simulation_id))})


class SteeringTicketHandler(NrpHandler):
    """What became of one steering request: queued, applied (with its simulation time) or refused."""

    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self, simulation_id, ticket):
        self.write_json(self.simulations.controls.ticket(parse_simulation_id(simulation_id),
                                                        parse_simulation_id(ticket)))


class SimulationStepHandler(NrpHandler):
    """A paused simulation runs `{"steps": N}` loop steps and is paused again."""

    @web.authenticated
    @authorized(action="execute")
    @nrp_errors
    async def post(self, simulation_id):
        self.write_json(await self.simulations.controls.step(parse_simulation_id(simulation_id), self.request.body,
                                                             user=self.user_name))


class SimulationResetHandler(NrpHandler):
    """A paused simulation goes back to time 0 (engines reset, functions reloaded), still paused."""

    @web.authenticated
    @authorized(action="execute")
    @nrp_errors
    async def post(self, simulation_id):
        self.write_json(await self.simulations.controls.reset(parse_simulation_id(simulation_id),
                                                              user=self.user_name))


class VersionHandler(NrpHandler):
    @web.authenticated
    @authorized
    @nrp_errors
    async def get(self):
        self.write_json(self.versions())

    def versions(self) -> dict[str, str]:
        # A server that cannot keep records is not a usable backend: health checks must see it.
        _ = self.simulations
        return {"hbp_nrp_backend": __version__, "hbp_nrp_simserver": __version__, "nrp_jupyter": __version__}


class OpenSimulationsHandler(SimulationsHandler):
    """NRP mode: the list answers without authentication, as NRP's backend answers the proxy's poll
    (which sends `Bearer false` when its own authentication is off). Launching stays authenticated."""

    @allow_unauthenticated
    @nrp_errors
    async def get(self):
        self.write_json([record.to_nrp_json() for record in self.simulations.list()])


class OpenVersionHandler(VersionHandler):
    """NRP mode: the versions answer without authentication, as NRP's backend's do."""

    @allow_unauthenticated
    @nrp_errors
    async def get(self):
        self.write_json(self.versions())


class OpenApiHandler(NrpHandler):
    @web.authenticated
    @authorized
    async def get(self):
        document = json.loads(OPENAPI_FILE.read_text())
        # The paths are relative to <base_url>nrp, and only the running server knows its base_url
        # (e.g. /user/<name>/ under JupyterHub).
        document["servers"] = [{"url": url_path_join(self.base_url, "nrp")}]
        self.write_json(document)


class UnknownPathHandler(NrpHandler):
    """Any other path under /nrp/ (`/simulation/abc`, `/simulation/-1`): a 404 in NRP's JSON body
    rather than the server's HTML page, so that clients of the API always get JSON. Only after
    authentication, so that it tells nobody without the token which paths exist."""

    def _not_found(self, *args):
        raise web.HTTPError(404, f"No such resource: {self.request.path}")

    get = post = put = patch = delete = web.authenticated(authorized(_not_found))


class EventsWebSocket(ExtensionHandlerMixin, JupyterHandler, websocket.WebSocketHandler):
    """Pushes `{"simulationID", "topic", "payload"}` messages; `?simulation=<id>` narrows them to
    one simulation.

    `topic` is the MQTT topic of what the server publishes there (`[<prefix>/]nrp_simulation/<id>/`
    `status`, `runtime_error`, `lifecycle` or `steering`; same payloads), or `data/<datapack>` for the
    decoded samples of a datatransfer engine's datapack stream (`nrp_jupyter.server.data_bridge`;
    these are not republished on MQTT). The Python client and the lab extension keep the last part."""

    auth_resource = AUTH_RESOURCE

    async def pre_get(self):
        authorized_ = await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read",
                                                                       AUTH_RESOURCE))
        if not authorized_:
            raise web.HTTPError(403)
        unavailable = self.settings.get("nrp_unavailable")
        if unavailable is not None:
            raise web.HTTPError(unavailable.http_status, unavailable.message)
        wanted = self.get_argument("simulation", None)
        if wanted is not None and not (wanted.isdigit() and len(wanted) <= MAX_ID_DIGITS):
            raise web.HTTPError(400, f"simulation must be a simulation id of at most {MAX_ID_DIGITS} digits, "
                                     f"not {shown(wanted)}")

    @ws_authenticated
    async def get(self, *args, **kwargs):
        await self.pre_get()
        await super().get(*args, **kwargs)

    def open(self):
        # Many small frames: without this each waits for Nagle's delayed ACK (about 40 ms).
        self.set_nodelay(True)
        wanted = self.get_argument("simulation", None)
        self._wanted = int(wanted) if wanted is not None else None
        self.settings["nrp_publisher"].add_listener(self._forward)

    def _forward(self, simulation_id: int, topic: str, payload) -> None:
        if self._wanted is not None and simulation_id != self._wanted:
            return
        try:
            self.write_message(json.dumps({"simulationID": simulation_id, "topic": topic, "payload": payload}))
        except websocket.WebSocketClosedError:
            self.settings["nrp_publisher"].remove_listener(self._forward)

    def on_close(self):
        self.settings["nrp_publisher"].remove_listener(self._forward)

    def write_error(self, status_code: int, **kwargs) -> None:
        if status_code == 403 and _unauthenticated(self):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": token_refusal(self), "type": "Client error", "data": None}))
            return
        super().write_error(status_code, **kwargs)


def handlers(nrp_mode: bool = False) -> list[tuple[str, type]]:
    """URL patterns relative to the server's base_url (the ExtensionApp joins them). In NRP mode
    the reads NRP leaves open answer without authentication (OPEN_IN_NRP_MODE)."""
    return [
        (r"/nrp/simulation", OpenSimulationsHandler if nrp_mode else SimulationsHandler),
        (rf"/nrp/simulation/{_SIMULATION}", SimulationHandler),
        (rf"/nrp/simulation/{_SIMULATION}/state", SimulationStateHandler),
        (rf"/nrp/simulation/{_SIMULATION}/logs", SimulationLogsHandler),
        (rf"/nrp/simulation/{_SIMULATION}/details", SimulationDetailsHandler),
        (rf"/nrp/simulation/{_SIMULATION}/datapacks/{_NAME.format('engine')}/{_NAME.format('datapack')}",
         SimulationDataPackHandler),
        (rf"/nrp/simulation/{_SIMULATION}/steering", SimulationSteeringHandler),
        (rf"/nrp/simulation/{_SIMULATION}/steering/(?P<ticket>\d{{1,18}})", SteeringTicketHandler),
        (rf"/nrp/simulation/{_SIMULATION}/step", SimulationStepHandler),
        (rf"/nrp/simulation/{_SIMULATION}/reset", SimulationResetHandler),
        (r"/nrp/experiments", ExperimentsHandler),
        (r"/nrp/version", OpenVersionHandler if nrp_mode else VersionHandler),
        (r"/nrp/openapi.json", OpenApiHandler),
        (r"/nrp/events", EventsWebSocket),
    ]


#: The verbs NRP's backend serves to anyone (its REST server: SimulationService.get and Version.get
#: check no user), as (URL pattern, verb); open here in NRP mode only. scripts/check_auth.py holds
#: every other verb to authentication.
OPEN_IN_NRP_MODE = frozenset({(r"/nrp/simulation", "GET"), (r"/nrp/version", "GET")})


def fallback_handler() -> tuple[str, type]:
    """Every other path under /nrp/; registered after `handlers()`, since tornado takes the first
    pattern that matches."""
    return (r"/nrp/.*", UnknownPathHandler)
