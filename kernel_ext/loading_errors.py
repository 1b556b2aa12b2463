"""Why initialisation failed, and whose fault it is: the experiment's files or the infrastructure.

NRP reports every initialisation failure as a `Loading` runtime_error naming the main script. Here
the report names the file at fault, and the line when it is known, and the `failed` event says
whether the experiment caused it, so that the server can answer a launch with a client error for
a broken experiment and with a server error for a broken installation.

The experiment is at fault when
    an engine refused to initialise: its own server answered initialize with an error, which
        names the engine and, when the engine knows it, the script and line: a missing world
        file, a brain that raises
    a transceiver, preprocessing or status function did not load
    the config names an engine program that cannot be started (its EngineProcCmd, unless it is
        one of this installation's own engine programs), or an engine started elsewhere
        (EmptyLaunchCommand) that does not answer at its ServerAddress
    the config or the main script cannot be read
and the infrastructure otherwise: NRPCoreSim or an engine process that does not start, crashes
or times out, a broken connection.

NRPCoreSim sends its account of the failure as text (nrp-core's `errorMsg`) and the kind of
failure as fields beside it (engines.errors.FailureDetail); the nrp-core client raises both as
RequestFailed. The cause is decided from the kind; a failure of no known kind (from an NRPCoreSim
that sends none) is the infrastructure's, reported whole.
"""

from __future__ import annotations

import enum
import linecache
import os
from dataclasses import dataclass

from engines.errors import ConfigError, FailureDetail, FailureKind
from engines.nrpcore_client import RequestFailed
from engines.nrpcoresim.protocols.engine_arguments import REGISTERING_PROGRAMS

from .error_reports import ErrorType, RuntimeErrorReport, loading_report
from .errors import ScriptLoadError

#: NRP's message for a failed initialisation (spec 1.8); the reason follows it.
LOADING_MESSAGE = "Error initializing nrp_core client"


class Cause(str, enum.Enum):
    EXPERIMENT = "experiment"
    """The experiment's files: fixing them makes the launch work."""
    INFRASTRUCTURE = "infrastructure"
    """NRPCoreSim, an engine process, the machine: the experiment may well be fine."""


@dataclass(frozen=True)
class LoadingFailure:
    """A failed initialisation: the runtime_error to publish, and the `failed` event's fields."""

    report: RuntimeErrorReport
    cause: Cause
    engine: str | None = None

    def failed_fields(self) -> dict:
        return {"reason": self.report.msg, "cause": self.cause.value, "engine": self.engine}


def loading_failure(error: BaseException, *, script_name: str, config_name: str,
                    simulation_dir: str) -> LoadingFailure:
    """What `error`, raised while the simulation was initialised in `simulation_dir`, means."""
    if isinstance(error, ScriptLoadError):
        return LoadingFailure(error.report, Cause.EXPERIMENT)
    if isinstance(error, ConfigError):
        message = _relative(str(error), simulation_dir)
        return LoadingFailure(_report(message, config_name), Cause.EXPERIMENT)
    if isinstance(error, RequestFailed):
        return _core_failure(error, script_name=script_name, config_name=config_name,
                             simulation_dir=simulation_dir)
    message = _relative(f"{type(error).__name__}: {error}", simulation_dir)
    return LoadingFailure(_report(message, script_name), Cause.INFRASTRUCTURE)


def _core_failure(error: RequestFailed, *, script_name: str, config_name: str, simulation_dir: str
                  ) -> LoadingFailure:
    """NRPCoreSim's account of a failed initialize."""
    detail = error.failure or FailureDetail(kind=FailureKind.OTHER)
    message = _relative(error.error_msg, simulation_dir)
    file = _relative(detail.file, simulation_dir) if detail.file is not None else None
    ours = os.path.basename(detail.program or "") in REGISTERING_PROGRAMS
    match detail.kind:
        case FailureKind.ENGINE_REFUSED if detail.reply_at is not None:
            # The engine client's words around the refusal add nothing: the engine's own are shown.
            own_words = _relative(error.error_msg[detail.reply_at:], simulation_dir)
            return LoadingFailure(_report(own_words, file or config_name, detail.line, simulation_dir),
                                  Cause.EXPERIMENT, engine=detail.engine)
        case FailureKind.FUNCTION if file is not None:
            return LoadingFailure(_report(message, file, detail.line, simulation_dir), Cause.EXPERIMENT)
        case FailureKind.ENGINE_PROGRAM_UNAVAILABLE if not ours:
            # The config's EngineProcCmd is wrong: the experiment's to fix. A missing engine program
            # of our own is the installation's.
            return LoadingFailure(_report(message, config_name), Cause.EXPERIMENT, engine=detail.engine)
        case FailureKind.ENGINE_UNREACHABLE:
            # The config's ServerAddress is wrong, or the engine it names is not running.
            return LoadingFailure(_report(message, config_name), Cause.EXPERIMENT, engine=detail.engine)
    return LoadingFailure(_report(message, script_name), Cause.INFRASTRUCTURE, engine=detail.engine)


def _report(message: str, file: str, line: int | None = None, simulation_dir: str | None = None
            ) -> RuntimeErrorReport:
    report = loading_report(f"{LOADING_MESSAGE}: {message}", file)
    if line is None:
        return report
    line_text = ""
    if simulation_dir is not None:
        line_text = linecache.getline(os.path.join(simulation_dir, file), line).rstrip("\r\n")
    return RuntimeErrorReport(msg=report.msg, error_type=ErrorType.LOADING, fileName=file, line_number=line,
                              line_text=line_text)


def _relative(message: str, simulation_dir: str) -> str:
    """`message` with the simulation directory's paths made relative to it: they name files of
    the experiment, and the server's own folders are none of the user's business."""
    for folder in dict.fromkeys((os.path.realpath(simulation_dir), os.path.abspath(simulation_dir))):
        message = message.replace(folder.rstrip(os.sep) + os.sep, "")
    return message
