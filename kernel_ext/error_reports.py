"""NRP's runtime_error payload, and how exceptions of the main script map to it (spec 1.8).

    AttributeError, NameError, SyntaxError  -> "Compile", at the script's innermost frame
    NRPStopExecution                        -> no report: stopping is not an error
    NRPSimulationTimeout                    -> "SimTimeout"
    NRPCoreSim failed in a function         -> "Runtime", at the function's file and line
    any other exception                     -> "Runtime"
    initialisation failure, unreadable file -> "Loading"
"""

from __future__ import annotations

import linecache
import os
from types import TracebackType

from engines.errors import FailureKind
from engines.nrpcore_client import RequestFailed

from .errors import NRPSimulationTimeout, NRPStopExecution
from .runtime_error import UNKNOWN, ErrorType, RuntimeErrorReport

_COMPILE_ERRORS = (AttributeError, NameError, SyntaxError)


def function_location(error: BaseException) -> tuple[str, int] | None:
    """The file and line of the datapack processing function that failed in NRPCoreSim, when
    NRPCoreSim says so (engines.errors.FailureDetail)."""
    failure = error.failure if isinstance(error, RequestFailed) else None
    if failure is None or failure.kind is not FailureKind.FUNCTION:
        return None
    if failure.file is None or failure.line is None:
        return None
    return failure.file, failure.line


def syntax_error_report(error: SyntaxError, script_name: str) -> RuntimeErrorReport:
    """The report of a script that fails `ast.parse`/`compile`."""
    return RuntimeErrorReport(
        msg=f"SyntaxError: {error.msg}",
        error_type=ErrorType.COMPILE,
        fileName=script_name,
        line_number=error.lineno if error.lineno is not None else UNKNOWN,
        offset=error.offset if error.offset is not None else UNKNOWN,
        line_text=(error.text or "").rstrip("\r\n"),
    )


def loading_report(message: str, script_name: str) -> RuntimeErrorReport:
    return RuntimeErrorReport(msg=message, error_type=ErrorType.LOADING, fileName=script_name)


def exception_report(error: BaseException, script_path: str, script_name: str) -> RuntimeErrorReport | None:
    """The report of an exception that ended the script run from `script_path`; None for a stop."""
    if isinstance(error, NRPStopExecution):
        return None
    if isinstance(error, _COMPILE_ERRORS):
        error_type = ErrorType.COMPILE
    elif isinstance(error, NRPSimulationTimeout):
        error_type = ErrorType.SIM_TIMEOUT
    else:
        error_type = ErrorType.RUNTIME
    message = f"{type(error).__name__}: {error}"
    located = function_location(error)
    if located is not None:
        return _function_report(message, located, os.path.dirname(os.path.abspath(script_path)))
    line_number, offset, line_text = _script_position(error.__traceback__, script_path)
    return RuntimeErrorReport(
        msg=message,
        error_type=error_type,
        fileName=script_name,
        line_number=line_number,
        offset=offset,
        line_text=line_text,
    )


def _function_report(message: str, located: tuple[str, int], experiment_dir: str) -> RuntimeErrorReport:
    """A failure inside a transceiver, preprocessing or status function, reported where it happened:
    the script's line that called run_loop is not where the user has to look."""
    file, line_number = located
    line_text = linecache.getline(os.path.join(experiment_dir, file), line_number).rstrip("\r\n")
    return RuntimeErrorReport(msg=message, error_type=ErrorType.RUNTIME, fileName=file, line_number=line_number,
                              line_text=line_text)


def _script_position(traceback: TracebackType | None, script_path: str) -> tuple[int, int, str]:
    """Line, 1-based column and text of the innermost traceback frame that runs the script itself.

    The innermost frame overall is usually inside a library (nrp-core's client, grpc); the user
    needs the line of their script that led there. The script raises whatever it likes, so where
    is known only from the traceback: this is the one place a file is read off one.
    """
    wanted = os.path.abspath(script_path)
    found: TracebackType | None = None
    while traceback is not None:
        if os.path.abspath(traceback.tb_frame.f_code.co_filename) == wanted:
            found = traceback
        traceback = traceback.tb_next
    if found is None:
        return UNKNOWN, UNKNOWN, ""
    line_number = found.tb_lineno
    offset = UNKNOWN
    # co_positions() yields one entry per 2-byte code unit; tb_lasti is a byte offset.
    positions = list(found.tb_frame.f_code.co_positions())
    index = found.tb_lasti // 2
    if 0 <= index < len(positions):
        start_line, _, column, _ = positions[index]
        if column is not None and start_line == line_number:
            offset = column + 1
    line_text = linecache.getline(wanted, line_number).rstrip("\r\n") if line_number else ""
    return line_number if line_number is not None else UNKNOWN, offset, line_text
