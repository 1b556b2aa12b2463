"""Why initialisation failed, and whose fault it is: the experiment's files or the infrastructure.

NRP reports every initialisation failure as a `Loading` runtime_error naming the main script. Here
the report names the file at fault, and the line when it is known, and the `failed` event says
whether the experiment caused it, so that the server can answer a launch with a client error for
a broken experiment and with a server error for a broken installation.

The experiment is at fault when
    an engine refused to initialise: its own server answered initialize with an error, which
        names the engine and, when the engine knows it, the script (`(script F)`) or the file and
        line (`in F, line N, in <function>`): a missing world file, a brain that raises
    a transceiver, preprocessing or status function did not load (`F, line N: ...`)
    the config names an engine program that cannot be started (its EngineProcCmd, unless it is
        one of this installation's own engine programs), or an engine started elsewhere
        (EmptyLaunchCommand) that does not answer at its ServerAddress
    the config or the main script cannot be read
and the infrastructure otherwise: NRPCoreSim or an engine process that does not start, crashes
or times out, a broken connection.

NRPCoreSim sends the failure as text only (nrp-core's `errorMsg`), inside nrp-client's
`Request failed with error "..."`: the cause is read from that text, in the forms the engines of
`engines/` write. Text in no known form is the infrastructure's failure, reported whole.
"""

from __future__ import annotations

import enum
import linecache
import os
import re
from dataclasses import dataclass

from engines.errors import ConfigError
from engines.nrpcoresim.protocols.engine_arguments import REGISTERING_PROGRAMS

from .error_reports import ErrorType, RuntimeErrorReport, core_failure_message, loading_report
from .errors import ScriptLoadError

#: NRP's message for a failed initialisation (spec 1.8); the reason follows it.
LOADING_MESSAGE = "Error initializing nrp_core client"

_ENGINE = re.compile(r'Engine "(?P<engine>[^"]+)": ')
# An engine server's own answer to initialize (engines/servers/script/script_host.py, datatransfer.py).
_ENGINE_REFUSAL = re.compile(
    r'Engine "(?P<engine>[^"]+)": initialize failed'
    r'(?: in (?P<file>[^,:]+), line (?P<line>\d+)(?:, in [^:]+)?| \(script (?P<script>[^)]+)\))?: ')
# An engine the config makes the simulation start, or reach, that is not there
# (engines/nrpcoresim/launchers.py).
_ENGINE_SETUP = re.compile(r'Engine "(?P<engine>[^"]+)": (?:cannot start \'(?P<program>[^\']+)\'|'
                           r'nothing answers at its ServerAddress)')
# A datapack processing function that did not load (engines/nrpcoresim/functions.py).
_FUNCTION_FAILURE = re.compile(r'(?P<file>[^\s,:"]+\.py)(?:, line (?P<line>\d+|None))?: ')


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
    core_failure = core_failure_message(error)
    if core_failure is None:
        message = _relative(f"{type(error).__name__}: {error}", simulation_dir)
        return LoadingFailure(_report(message, script_name), Cause.INFRASTRUCTURE)
    return _core_failure(_relative(core_failure, simulation_dir), script_name=script_name,
                         config_name=config_name, simulation_dir=simulation_dir)


def _core_failure(message: str, *, script_name: str, config_name: str, simulation_dir: str) -> LoadingFailure:
    """NRPCoreSim's account of a failed initialize."""
    engines = list(_ENGINE.finditer(message))
    # The engine client wraps what the engine's server answered: the innermost message is the
    # engine's own; a refusal that no client wrapped did not come from an engine's server.
    innermost = engines[-1] if engines else None
    refusal = _ENGINE_REFUSAL.match(message, innermost.start()) if innermost is not None else None
    if refusal is not None and len(engines) >= 2 and engines[0]["engine"] == refusal["engine"]:
        own_words = message[innermost.start():]
        file = refusal["file"] or refusal["script"] or config_name
        line = int(refusal["line"]) if refusal["line"] else None
        return LoadingFailure(_report(own_words, file, line, simulation_dir), Cause.EXPERIMENT,
                              engine=refusal["engine"])
    function = _FUNCTION_FAILURE.match(message)
    if function is not None and not engines:
        line = int(function["line"]) if function["line"] not in (None, "None") else None
        return LoadingFailure(_report(message, function["file"], line, simulation_dir), Cause.EXPERIMENT)
    setup = _ENGINE_SETUP.match(message)
    if setup is not None and os.path.basename(setup["program"] or "") not in REGISTERING_PROGRAMS:
        # The config's EngineProcCmd or ServerAddress is wrong, or the engine it names is not
        # running: the experiment's to fix. A missing engine program of our own is the installation's.
        return LoadingFailure(_report(message, config_name), Cause.EXPERIMENT, engine=setup["engine"])
    engine = engines[0]["engine"] if engines else None
    return LoadingFailure(_report(message, script_name), Cause.INFRASTRUCTURE, engine=engine)


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
