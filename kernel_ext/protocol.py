"""The contract between the server and an experiment kernel: the one module both sides import.

The server starts a kernel, runs `bootstrap_code(variables)` in it with the `Env` variables, then
sends each `Command` as `command_code(command)` (execute requests with `stop_on_error=False`: after an error
reply ipykernel otherwise aborts the requests that follow it). Every command returns at once; what
happens afterwards comes back as events: display_data messages on iopub whose data has one key,
`MIME_TYPE`, holding `event.to_json()`. The server reads them with `event_from_json`.

    server -> kernel   bootstrap_code(Env variables), command_code(Command.START | PAUSE | RESUME | STOP | RESET),
                       request_code(SteerRequest | ReadRequest | StepRequest)
    kernel -> server   Progress, Status, Initialized, RuntimeErrorEvent, Failed, Completed, Stopped,
                       Steered, DataPackRead, Stepped, ResetDone

A request carries its arguments as one JSON text; what becomes of it comes back as an event
(Steered with the request's `ticket`, DataPackRead with its `request`, Stepped, ResetDone).

The bootstrap carries the variables because the kernel may have been started before its
simulation existed (a warm kernel of the server's pool): they become the kernel's environment
there, so every process the simulation starts inherits them. A kernel started with them in its
environment may run `BOOTSTRAP`, which reads them from there.

At a transition the Status event comes first, then the transition's event: the server may end the
kernel as soon as it reads a final one (Failed, Stopped).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar

MIME_TYPE = "application/vnd.nrp-jupyter.event+json"

#: The name the simulation server has in the kernel's namespace.
SERVER_NAME = "__nrp_simulation__"

BOOTSTRAP = (f"from kernel_ext.simulation_server import SimulationServer as _S; "
             f"{SERVER_NAME} = _S.from_environment(); {SERVER_NAME}.initialize()")

#: What a warm kernel runs while it waits to be taken: the imports of the bootstrap, paid ahead.
WARM_UP = "import kernel_ext.simulation_server"


def bootstrap_code(variables: Mapping[str, str]) -> str:
    """The bootstrap of a simulation described by `variables` (the `Env` names, and whatever else
    its processes must inherit): the kernel adopts them as its environment, moves to the
    simulation directory and starts initialising."""
    settings = {str(key): str(value) for key, value in variables.items()}
    return (f"from kernel_ext.simulation_server import SimulationServer as _S; "
            f"{SERVER_NAME} = _S.from_variables({settings!r}); {SERVER_NAME}.initialize()")


class Command(str, enum.Enum):
    """What the server asks of a running simulation server; `initialize` is the bootstrap's."""

    INITIALIZE = "initialize"
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    RESET = "reset"
    """Back to time 0 (NRPCoreSim's reset: engines reset, functions reloaded); stays paused."""
    STEER = "steer"
    READ = "read_datapack"
    STEP = "step"


def command_code(command: Command) -> str:
    """The code the server executes in the kernel for `command` (initialize: the bootstrap from the
    kernel's environment; `bootstrap_code` carries the variables instead)."""
    if command is Command.INITIALIZE:
        return BOOTSTRAP
    return f"{SERVER_NAME}.{command.value}()"


# -- requests (server -> kernel): commands with arguments ------------------------------------------

class Request:
    """Base of the commands that carry arguments; `COMMAND` names the simulation server's method."""

    COMMAND: ClassVar[Command]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, text: str):
        try:
            fields_ = json.loads(text)
            return cls(**fields_)
        except (TypeError, ValueError) as error:
            raise ProtocolError(f"not a {cls.COMMAND.value} request ({error}): {text!r:.200}") from None


@dataclass(frozen=True)
class SteerRequest(Request):
    """A datapack for `engine`'s next step: a JSON value, or protobuf's JSON mapping of a message of
    the full type name `type`. `ticket` names it in its Steered event."""

    COMMAND: ClassVar[Command] = Command.STEER
    ticket: int
    engine: str
    datapack: str
    value: Any
    type: str | None = None


@dataclass(frozen=True)
class ReadRequest(Request):
    """The engine's latest `datapack`; answered by a DataPackRead event with the same `request`."""

    COMMAND: ClassVar[Command] = Command.READ
    request: int
    engine: str
    datapack: str


@dataclass(frozen=True)
class StepRequest(Request):
    """Let exactly `steps` loop steps through a paused simulation, which stays paused."""

    COMMAND: ClassVar[Command] = Command.STEP
    steps: int


def request_code(request: Request) -> str:
    """The code the server executes in the kernel for `request`: its method, given its JSON text."""
    return f"{SERVER_NAME}.{request.COMMAND.value}({json.dumps(request.to_json())!r})"


class Env:
    """The variables the server sets for an experiment kernel (plain strings, used as dict keys).
    Only KERNEL_* variables reach a kernel on a kernel gateway, so everything a simulation needs
    from the server is one of these."""

    SIMULATION_ID = "KERNEL_NRP_SIMULATION_ID"
    SIMULATION_DIR = "KERNEL_NRP_SIMULATION_DIR"
    """The simulation directory; also the mark every process of the simulation inherits."""
    EXPERIMENT_CONFIG = "KERNEL_NRP_EXPERIMENT_CONFIG"
    MAIN_SCRIPT = "KERNEL_NRP_MAIN_SCRIPT"
    MQTT_PREFIX = "KERNEL_NRP_MQTT_PREFIX"
    MQTT_BROKER = "KERNEL_NRP_MQTT_BROKER"
    STATUS_INTERVAL = "KERNEL_NRP_STATUS_INTERVAL"


# -- events (kernel -> server) --------------------------------------------------------------------

class Event:
    """Base of the kernel's events; `NAME` is the wire name in the payload's "event" key."""

    NAME: ClassVar[str]

    def to_json(self) -> dict[str, Any]:
        return {"event": self.NAME, **asdict(self)}


@dataclass(frozen=True)
class Progress(Event):
    """A step of a long task (initialisation, shutdown); `done` closes the task."""

    NAME: ClassVar[str] = "progress"
    task: str
    subtask: str | None = None
    number_of_subtasks: int | None = None
    subtask_index: int | None = None
    block_ui: bool | None = None
    done: bool | None = None

    def to_json(self) -> dict[str, Any]:
        # NRP's progress payload leaves out what a message does not say.
        return {"event": self.NAME, **{key: value for key, value in asdict(self).items() if value is not None}}


@dataclass(frozen=True)
class Status(Event):
    """NRP's status payload: once per interval and at each transition."""

    NAME: ClassVar[str] = "status"
    realTime: float  # noqa: N815 (NRP's payload keys)
    simulationTime: float  # noqa: N815
    state: str
    simulationTimeLeft: float  # noqa: N815


@dataclass(frozen=True)
class Initialized(Event):
    """NRPCoreSim and the engines are up: the simulation is paused."""

    NAME: ClassVar[str] = "initialized"
    nrpcoresim_pid: int | None = None


@dataclass(frozen=True)
class RuntimeErrorEvent(Event):
    """NRP's runtime_error payload (kernel_ext.runtime_error.RuntimeErrorReport's fields)."""

    NAME: ClassVar[str] = "runtime_error"
    msg: str
    error_type: str
    fileName: str  # noqa: N815 (NRP's payload key)
    line_number: int = -1
    offset: int = -1
    line_text: str = ""


@dataclass(frozen=True)
class Failed(Event):
    """The simulation can no longer run; `cause` is "experiment" or "infrastructure" when known."""

    NAME: ClassVar[str] = "failed"
    reason: str
    cause: str | None = None
    engine: str | None = None


@dataclass(frozen=True)
class Completed(Event):
    """The main script ended, by itself (`failed` if it raised or the simulation broke under it)."""

    NAME: ClassVar[str] = "completed"
    failed: bool = False


@dataclass(frozen=True)
class Stopped(Event):
    """Stop is done: the script ended and NRPCoreSim is shut down."""

    NAME: ClassVar[str] = "stopped"


@dataclass(frozen=True)
class Steered(Event):
    """What became of steering request `ticket`: applied with the step at `simulationTime` (s), or
    refused (`error`; `missing` when the engine has no such datapack)."""

    NAME: ClassVar[str] = "steered"
    ticket: int
    engine: str
    datapack: str
    applied: bool
    simulationTime: float = 0.0  # noqa: N815 (NRP's time key)
    error: str = ""
    missing: bool = False


@dataclass(frozen=True)
class DataPackRead(Event):
    """The answer to read request `request`: the value (None if the engine holds none) and the
    protobuf type (None for JSON), or `error` (`missing` when there is no such engine or datapack)."""

    NAME: ClassVar[str] = "datapack"
    request: int
    engine: str
    datapack: str
    value: Any = None
    type: str | None = None
    error: str = ""
    missing: bool = False


@dataclass(frozen=True)
class Stepped(Event):
    """A step request ended: `steps` ran (fewer if a resume came first); the simulation is at
    `simulationTime` (s)."""

    NAME: ClassVar[str] = "stepped"
    steps: int
    simulationTime: float  # noqa: N815


@dataclass(frozen=True)
class ResetDone(Event):
    """A reset ended: back at time 0 and paused, or refused by `engine` (`error`), which fails the
    simulation, as in nrp-core."""

    NAME: ClassVar[str] = "reset"
    ok: bool
    engine: str | None = None
    error: str = ""


KernelEvent = (Progress | Status | Initialized | RuntimeErrorEvent | Failed | Completed | Stopped | Steered
               | DataPackRead | Stepped | ResetDone)

_BY_NAME: dict[str, type] = {cls.NAME: cls for cls in (Progress, Status, Initialized, RuntimeErrorEvent, Failed,
                                                       Completed, Stopped, Steered, DataPackRead, Stepped,
                                                       ResetDone)}


class ProtocolError(ValueError):
    """A payload that is no event of this protocol."""


def event_from_json(payload: object) -> KernelEvent:
    """The event a payload carries; raises ProtocolError for anything else."""
    if not isinstance(payload, dict) or payload.get("event") not in _BY_NAME:
        raise ProtocolError(f"not a kernel event: {payload!r:.200}")
    cls = _BY_NAME[payload["event"]]
    known = {item.name for item in fields(cls)}
    try:
        return cls(**{key: value for key, value in payload.items() if key in known})
    except TypeError as error:
        raise ProtocolError(f"a {cls.NAME} event without its fields ({error}): {payload!r:.200}") from None


__all__ = ["BOOTSTRAP", "MIME_TYPE", "SERVER_NAME", "WARM_UP", "Command", "Completed", "DataPackRead", "Env",
           "Event", "Failed", "Initialized", "KernelEvent", "Progress", "ProtocolError", "ReadRequest", "Request",
           "ResetDone", "RuntimeErrorEvent", "Status", "SteerRequest", "Steered", "StepRequest", "Stepped",
           "Stopped", "bootstrap_code", "command_code", "event_from_json", "request_code"]
