"""Errors of the simulation core, as one tree.

    NrpCoreError
    ├── ConfigError            a simulation or engine config is invalid (names the file and JSON path)
    ├── FunctionError          a transceiver/preprocessing/status function failed to load or run
    │                          (names the function, its file and line)
    ├── IllegalRequest         a request the simulation's state does not allow (gRPC CANCELLED)
    └── EngineError            an engine failed (names the engine)
        ├── EngineLaunchError  its process could not be started or did not come up
        │   ├── EngineProgramUnavailable  the program its EngineProcCmd names cannot be started
        │   └── EngineUnreachable         started elsewhere, it does not answer at its ServerAddress
        ├── EngineTimeout      a command exceeded EngineCommandTimeout
        └── EngineCrashed      its process died or its connection broke

Every message is meant for the experiment's author: it says which file, key, function or engine
is at fault, and why. A client of NRPCoreSim gets the message as nrp-core's `errorMsg` text, and
with it the error's kind as fields (`FailureDetail`, from `failure_detail`), so that it need not
read the kind back from the words.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass


class NrpCoreError(Exception):
    """Base of every error the simulation core raises on purpose."""


class ConfigError(NrpCoreError):
    """An invalid simulation or engine configuration.

    `file` is the config file (or None for an in-memory config), `path` the JSON path of the
    offending key, e.g. ``EngineConfigs[1].EngineTimestep``, and `reason` what is wrong with it.
    """

    def __init__(self, reason: str, *, file: str | None = None, path: str | None = None):
        self.reason = reason
        self.file = file
        self.path = path
        where = ": ".join(part for part in (file, path) if part)
        super().__init__(f"{where}: {reason}" if where else reason)


class FunctionError(NrpCoreError):
    """A datapack processing function (TF, PF or status function) that failed to load or run."""

    def __init__(self, message: str, *, function: str | None = None, file: str | None = None,
                 line: int | None = None):
        self.function = function
        self.file = file
        self.line = line
        super().__init__(message)


def function_at(kind: str, name: str, file: str, line: int) -> str:
    """The words that name a function of the experiment in a message about it."""
    return f"{kind} '{name}' ({file}, line {line})"


class IllegalRequest(NrpCoreError):
    """A request that the simulation's current state does not allow."""


class EngineError(NrpCoreError):
    """An engine failed; `engine` is its EngineName."""

    def __init__(self, engine: str, message: str):
        self.engine = engine
        super().__init__(f'Engine "{engine}": {message}')


class EngineLaunchError(EngineError):
    """The engine's process could not be started, or never became reachable."""


class EngineTimeout(EngineError):
    """An engine command took longer than the engine's EngineCommandTimeout."""


class EngineCrashed(EngineError):
    """The engine's process died, or its connection broke, while a command was pending."""


class EngineProgramUnavailable(EngineLaunchError):
    """The program the engine's EngineProcCmd names could not be started; `program` is it."""

    def __init__(self, engine: str, message: str, *, program: str):
        self.program = program
        super().__init__(engine, message)


class EngineUnreachable(EngineLaunchError):
    """An engine started elsewhere (LaunchType EmptyLaunchCommand) does not answer at its ServerAddress."""


# -- the kind of a failure, for NRPCoreSim's clients -------------------------------------------------

#: The trailing-metadata key of NRPCoreSim's replies that carries a failed request's FailureDetail.
#: nrp-core's wire has only the `errorMsg` text; clients that know no more (nrp-client) ignore it.
FAILURE_METADATA_KEY = "nrp-jupyter-failure"


class FailureKind(str, enum.Enum):
    CONFIG = "config"
    """The simulation config is invalid; `file` is the config file when known."""
    FUNCTION = "function"
    """A datapack processing function failed to load or to run; `file` and `line` say where."""
    ENGINE_REFUSED = "engine_refused"
    """The engine's own server refused to initialize; its answer starts at `reply_at` of the
    message, and names the engine's script (`file`, with `line` when known) when it knows it."""
    ENGINE_PROGRAM_UNAVAILABLE = "engine_program_unavailable"
    """The program the engine's EngineProcCmd names (`program`) could not be started."""
    ENGINE_UNREACHABLE = "engine_unreachable"
    """An engine started elsewhere does not answer at its ServerAddress."""
    ENGINE = "engine"
    """Any other failure of an engine: a crash, a timeout, an answer its client could not use."""
    OTHER = "other"
    """Anything else."""


@dataclass(frozen=True, kw_only=True)
class FailureDetail:
    """What kind of failure a failed request met, as fields beside its message."""

    kind: FailureKind
    engine: str | None = None
    file: str | None = None
    line: int | None = None
    program: str | None = None
    reply_at: int | None = None

    def to_metadata(self) -> tuple[tuple[str, str], ...]:
        # ensure_ascii (json's default): metadata values without a -bin key must be ASCII.
        fields = {key: value for key, value in asdict(self).items() if value is not None}
        return ((FAILURE_METADATA_KEY, json.dumps(fields)),)

    @classmethod
    def from_metadata(cls, metadata: Iterable[tuple[str, str | bytes]] | None) -> FailureDetail | None:
        """The detail among a reply's trailing metadata; None if there is none or it cannot be read
        (a server that sends none, or a newer one that sends kinds this client does not know)."""
        for key, value in metadata or ():
            if key != FAILURE_METADATA_KEY:
                continue
            try:
                fields = json.loads(value)
                return cls(**{**fields, "kind": FailureKind(fields["kind"])})
            except (ValueError, TypeError, KeyError):
                return None
        return None


# An engine server's answer to an initialize request it refused, as the engine servers of
# engines/servers word it: `Engine "<name>": initialize failed in <file>, line <n>, in <function>: ...`
# or `Engine "<name>": initialize failed (script <file>): ...`. nrp-core's engine protocols carry a
# refusal as text only (a gRPC status's details, an HTTP body), and nrp-core's own engines answer
# in words of their own, so this one reading of the words stays: it is done here, where NRPCoreSim
# receives them, and clients get the result as FailureDetail's fields.
_ENGINE_NAMED = re.compile(r'Engine "(?P<engine>[^"]+)": ')
_ENGINE_REFUSAL = re.compile(
    r'Engine "(?P<engine>[^"]+)": initialize failed'
    r'(?: in (?P<file>[^,:]+), line (?P<line>\d+)(?:, in [^:]+)?| \(script (?P<script>[^)]+)\))?: ')


def failure_detail(error: BaseException) -> FailureDetail:
    """The kind of failure `error` is, for a client that gets `str(error)` as its message."""
    match error:
        case ConfigError():
            return FailureDetail(kind=FailureKind.CONFIG, file=error.file)
        case FunctionError():
            return FailureDetail(kind=FailureKind.FUNCTION, file=error.file, line=error.line)
        case EngineProgramUnavailable():
            return FailureDetail(kind=FailureKind.ENGINE_PROGRAM_UNAVAILABLE, engine=error.engine,
                                 program=error.program)
        case EngineUnreachable():
            return FailureDetail(kind=FailureKind.ENGINE_UNREACHABLE, engine=error.engine)
        case EngineError():
            return _engine_refusal(error) or FailureDetail(kind=FailureKind.ENGINE, engine=error.engine)
    return FailureDetail(kind=FailureKind.OTHER)


def _engine_refusal(error: EngineError) -> FailureDetail | None:
    """The engine's own refusal inside `error`, its client's account of the request.

    The client wraps what the engine's server answered, so the innermost engine named is the one
    that answered; a refusal that its own client did not wrap did not come from the engine's server.
    """
    message = str(error)
    named = list(_ENGINE_NAMED.finditer(message))
    if len(named) < 2:
        return None
    reply_at = named[-1].start()
    refusal = _ENGINE_REFUSAL.match(message, reply_at)
    if refusal is None or refusal["engine"] != error.engine or named[0]["engine"] != error.engine:
        return None
    return FailureDetail(kind=FailureKind.ENGINE_REFUSED, engine=error.engine,
                         file=refusal["file"] or refusal["script"],
                         line=int(refusal["line"]) if refusal["line"] else None, reply_at=reply_at)
