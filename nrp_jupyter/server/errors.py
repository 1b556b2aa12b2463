"""Errors of the server extension, as one tree, with the HTTP status and NRP error type of each.

    NrpError                      500  "General error"   base; anything unexpected
    ├── ClientError               400  "Client error"    a request the server cannot act on
    │   ├── SimulationNotFound    404  "Client error"    unknown simulation id
    │   ├── ExperimentNotFound    404  "Client error"    no such experiment folder
    │   ├── InvalidExperimentId   400  "Client error"    traversal, absolute path, empty, NUL
    │   ├── InvalidConfig         400  "Client error"    the experiment's config fails validation
    │   ├── SimulationNotFinal    409  "Client error"    e.g. DELETE of a simulation still running
    │   ├── StoppedWhileLaunching 409  "Client error"    a stop arrived before the launch ended
    │   ├── TokenRefused          401  "Client error"    the NRP proxy refused the bearer token (477 if it did)
    │   ├── ExperimentTooLarge    413  "Client error"    the proxy's experiment is past the size bound
    │   ├── TooManySimulations    409  "Client error"    the launch limit is reached
    │   ├── NotOwner              401  "Client error"    only the owner may change a simulation
    │   ├── InvalidSteering       400  "Client error"    a steering body, step count or steering.json key that is wrong
    │   ├── SteeringTargetNotFound 404 "Client error"    no such engine or datapack in the simulation
    │   ├── NotSteerable          409  "Client error"    steering or reading a simulation in the wrong state
    │   ├── SimulationBusy        409  "Client error"    a step or reset while another is in progress
    │   └── ResetRefused          409  "Client error"    an engine refused the reset (the simulation fails)
    ├── StateTransitionError      400  "State Transition error"
    ├── RecordsUnavailable        503  "General error"   the records database is damaged or foreign
    ├── ProxyUnavailable          503  "General error"   the NRP proxy cannot be reached (NRP mode)
    ├── ProxyFailed               502  "General error"   the NRP proxy answered what cannot be used
    └── GeneralError              500  "General error"   "Internal server error: ..."

The class attributes `http_status` and `error_type` are the one place where an error's HTTP status
and NRP type live; the REST layer reads them in a single decorator, so services never import tornado.
`body()` is NRP's error body `{"message", "type", "data"}`. Where NRP fixes a message (nrp.md §1.11),
the text here is NRP's, word for word, because frontends and tests compare them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from engines.errors import ConfigError

#: How much of a client's value a message repeats: a 5 MB value costs the client 5 MB once, not twice.
MAX_SHOWN = 60


def clipped(text: str) -> str:
    """`text` cut to MAX_SHOWN characters, with its length said."""
    if len(text) <= MAX_SHOWN:
        return text
    return f"{text[:MAX_SHOWN]}... ({len(text)} characters)"


def shown(value: object) -> str:
    """`value` for a message: its repr, clipped."""
    return clipped(repr(value))


class NrpError(Exception):
    """Base of every error the extension raises on purpose.

    `message` is what the client sees; `data` is NRP's optional extra string (mostly None).
    """

    http_status: ClassVar[int] = 500
    error_type: ClassVar[str] = "General error"

    def __init__(self, message: str, *, data: str | None = None):
        super().__init__(message)
        self.message = message
        self.data = data

    def body(self) -> dict[str, str | None]:
        """NRP's error body, to be sent as JSON with `http_status`."""
        return {"message": self.message, "type": self.error_type, "data": self.data}


class ClientError(NrpError):
    """A request the server cannot act on (a bad body, a bad parameter)."""

    http_status = 400
    error_type = "Client error"


class SimulationNotFound(ClientError):
    """The simulation id is not known; NRP's message does not repeat the id."""

    http_status = 404

    def __init__(self, simulation_id: int | None = None,
                 message: str = "The simulation with the given ID was not found"):
        super().__init__(message)
        self.simulation_id = simulation_id


class ExperimentNotFound(ClientError):
    """There is no experiment folder with this id in the experiment storage."""

    http_status = 404

    def __init__(self, experiment_id: str, storage: str = "the experiment storage"):
        # The client knows the storage by its ids only; its place on the server's disk is not theirs.
        super().__init__(f"The experiment '{experiment_id}' was not found in {storage}")
        self.experiment_id = experiment_id


class InvalidExperimentId(ClientError):
    """An experiment id that is not a plain relative path inside the storage root.

    Raised before the filesystem is touched outside the root: `..`, absolute paths, empty ids,
    NUL bytes, and symbolic links that lead out of the root.
    """

    def __init__(self, experiment_id: object, reason: str):
        super().__init__(f"Invalid experiment ID {shown(experiment_id)}: {reason}")
        self.experiment_id = experiment_id
        self.reason = reason


class InvalidConfig(ClientError):
    """An experiment configuration that fails validation; names the file and the JSON path."""

    def __init__(self, reason: str, *, file: str | None = None, path: str | None = None):
        where = ": ".join(part for part in (file, path) if part)
        detail = f"{where}: {reason}" if where else reason
        super().__init__(f"Invalid experiment configuration: {detail}")
        self.reason = reason
        self.file = file
        self.path = path

    @classmethod
    def from_config_error(cls, error: ConfigError) -> InvalidConfig:
        """The REST form of the simulation core's `engines.errors.ConfigError`."""
        return cls(error.reason, file=error.file, path=error.path)


class SimulationNotFinal(ClientError):
    """An operation that needs a final (stopped or failed) simulation, e.g. deleting its record."""

    http_status = 409

    @classmethod
    def removal(cls, simulation_id: int, state: str) -> SimulationNotFinal:
        """The refusal to delete the record of a simulation that has not ended."""
        return cls(f"The simulation {simulation_id} is '{state}'; stop it before removing it")


class StoppedWhileLaunching(ClientError):
    """The answer to a launch that a stop overtook: the simulation exists, stopped, with its logs."""

    http_status = 409

    def __init__(self, simulation_id: int, step: str):
        super().__init__(f"The simulation {simulation_id} was stopped while it was being launched "
                         f"({step.lower()})")
        self.simulation_id = simulation_id


class TokenRefused(ClientError):
    """A bearer token the NRP proxy does not accept (unknown, expired, or the proxy's `no-token`).

    The proxy's own refusal, 477 with where to log in (`{"mode", "url", "clientId"}`), is passed
    on as it came, status and login keys beside NRP's body: it is the answer on which NRP's frontend
    sends the user to the proxy's login page; to any other status a 401 would only show nothing.
    Other refusals (401, 403, 404 from the proxy) are a 401.
    """

    http_status = 401
    PROXY_REFUSAL: ClassVar[int] = 477
    LOGIN_KEYS: ClassVar[tuple[str, ...]] = ("mode", "url", "clientId")

    def __init__(self, proxy: str, status: int, login: dict | None = None):
        super().__init__(f"The NRP proxy at {proxy} refused the bearer token (HTTP {status}): it is unknown "
                         f"or has expired; log in again")
        self.proxy = proxy
        self.status = status
        if status == self.PROXY_REFUSAL:
            self.http_status = status
        self.login = {key: clipped(value) for key, value in (login or {}).items()
                      if key in self.LOGIN_KEYS and isinstance(value, str)}

    def body(self) -> dict[str, str | None]:
        return {**super().body(), **self.login}


class ExperimentTooLarge(ClientError):
    """An experiment in the proxy's storage past the server's bound on what it fetches."""

    http_status = 413

    def __init__(self, experiment_id: str, what: str):
        super().__init__(f"The experiment '{experiment_id}' is too large to launch: {what}")
        self.experiment_id = experiment_id


class StateTransitionError(NrpError):
    """A state change the lifecycle does not allow. The constructors give NRP's three messages."""

    http_status = 400
    error_type = "State Transition error"

    @classmethod
    def invalid_transition(cls, current: str, requested: str) -> StateTransitionError:
        return cls(f"The state transition is invalid ('{current}' -> '{requested}')")

    @classmethod
    def finalized(cls) -> StateTransitionError:
        return cls("The state transition is invalid (The simulation requested is finalized)")

    @classmethod
    def invalid_state(cls, requested: object) -> StateTransitionError:
        return cls(f"Invalid state requested: ({clipped(str(requested))})")


class TooManySimulations(ClientError):
    """A launch while the maximum number of non-final simulations already exists."""

    http_status = 409

    def __init__(self, maximum: int = 1):
        if maximum == 1:
            message = "Another simulation is already running on the server"
        else:
            message = f"The maximum of {maximum} simulations are already running on the server"
        super().__init__(message)
        self.maximum = maximum


class NotOwner(ClientError):
    """A state change requested by someone other than the simulation's owner."""

    http_status = 401

    def __init__(self) -> None:
        super().__init__("Insufficient permissions to apply changes. "
                         "Operation only allowed by simulation owner")


class InvalidSteering(ClientError):
    """A steering request or declaration that cannot be used; the message names the key (and file)."""

    def __init__(self, message: str, *, key: str | None = None, file: str | None = None):
        super().__init__(message)
        self.key = key
        self.file = file


class SteeringTargetNotFound(ClientError):
    """The engine, or the engine's datapack, that a steering request or read names does not exist."""

    http_status = 404

    def __init__(self, message: str, *, engine: str, datapack: str | None = None):
        super().__init__(message)
        self.engine = engine
        self.datapack = datapack


class NotSteerable(ClientError):
    """Steering, reading, stepping or resetting a simulation whose state does not allow it."""

    http_status = 409

    def __init__(self, simulation_id: int, state: str, what: str, allowed: str):
        super().__init__(f"The simulation {simulation_id} is '{state}': {what} needs a simulation that is {allowed}")
        self.state = state


class SimulationBusy(ClientError):
    """A step or reset while another step or reset of the simulation is in progress."""

    http_status = 409


class ResetRefused(ClientError):
    """An engine refused the reset. NRPCoreSim cannot go on after that (nrp-core's rule), so the
    simulation fails; `engine` names the engine when NRPCoreSim said which."""

    http_status = 409

    def __init__(self, simulation_id: int, engine: str | None, reason: str):
        who = f"engine '{engine}'" if engine else "an engine"
        super().__init__(f"The reset of simulation {simulation_id} was refused by {who}: {reason[:1000]}; "
                         f"the simulation fails")
        self.engine = engine


class RecordsUnavailable(NrpError):
    """The simulation records cannot be used: their database is damaged, foreign or too new. Every
    route answers it until the operator acts; nothing of the file is replaced meanwhile."""

    http_status = 503
    error_type = "General error"


class ProxyUnavailable(NrpError):
    """The NRP proxy (identity and storage, in NRP mode) cannot be reached, or did not answer in time."""

    http_status = 503
    error_type = "General error"

    def __init__(self, proxy: str, reason: str):
        super().__init__(f"The NRP proxy at {proxy} cannot be reached: {reason}")
        self.proxy = proxy


class ProxyFailed(NrpError):
    """The NRP proxy answered, but not with what its API promises (a 5xx, a body that is not a
    listing, a file name that would lead out of the simulation directory)."""

    http_status = 502
    error_type = "General error"

    def __init__(self, proxy: str, problem: str):
        super().__init__(f"The NRP proxy at {proxy} {problem}")
        self.proxy = proxy


class GeneralError(NrpError):
    """A failure on the server's side (a copy that failed, a kernel that would not start)."""

    http_status = 500
    error_type = "General error"
    PREFIX: ClassVar[str] = "Internal server error: "

    def __init__(self, message: str, *, data: str | None = None):
        # Callers may wrap an error whose text already carries the prefix; say it once.
        if not message.startswith(self.PREFIX):
            message = self.PREFIX + message
        super().__init__(message, data=data)
