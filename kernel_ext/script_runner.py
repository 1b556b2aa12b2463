"""The experiment's main script: checked with `ast.parse`, then executed on `MainScriptThread` (spec 1.8).

The script sees exactly NRP's globals: `nrp`, `file_logger`, `logging` and `NRPSimulationTimeout`.
However it ends, the completion callback runs once with the outcome.
"""

from __future__ import annotations

import ast
import builtins
import logging
import pathlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .error_reports import RuntimeErrorReport, exception_report, loading_report, syntax_error_report
from .errors import NRPSimulationTimeout, NRPStopExecution, ScriptLoadError

log = logging.getLogger(__name__)

THREAD_NAME = "MainScriptThread"
_LOG_FORMAT = "%(asctime)s [%(levelname)s] %(message)s"


@dataclass(frozen=True)
class ScriptOutcome:
    """How a run of the main script ended."""

    error: BaseException | None
    """The exception that ended it; None when it returned."""
    report: RuntimeErrorReport | None
    """The runtime_error to show; None when it returned or was stopped."""

    @property
    def stopped(self) -> bool:
        return isinstance(self.error, NRPStopExecution)


def script_logger(directory: pathlib.Path, script_path: pathlib.Path, simulation_id: str) -> logging.Logger:
    """`file_logger`: DEBUG and up to `<script stem>_<id>.log` in `directory`, not propagated.

    The logger is built directly rather than through logging.getLogger, so that it is not kept in
    the process-wide registry after the run.
    """
    name = f"{script_path.stem}_{simulation_id}.log"
    logger = logging.Logger(name, logging.DEBUG)
    logger.propagate = False
    handler = logging.FileHandler(directory / name, encoding="utf-8")
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    logger.addHandler(handler)
    return logger


def close_logger(logger: logging.Logger) -> None:
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()


class MainScript:
    """One main script of one simulation."""

    def __init__(self, path: pathlib.Path, simulation_id: str, log_dir: pathlib.Path | None = None) -> None:
        self.path = pathlib.Path(path).resolve()
        self.name = self.path.name
        self.simulation_id = simulation_id
        self.log_dir = pathlib.Path(log_dir) if log_dir is not None else self.path.parent
        self._code: Any = None
        self._thread: threading.Thread | None = None

    def check(self) -> None:
        """Read and compile the script; raises ScriptLoadError with a Loading or Compile report."""
        try:
            source = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ScriptLoadError(loading_report(f"Cannot read the main script {self.name}: {err}",
                                                 self.name)) from err
        try:
            tree = ast.parse(source, filename=str(self.path))
            # Compiled with the file's real path, so tracebacks and linecache name it.
            self._code = compile(tree, str(self.path), "exec", dont_inherit=True)
        except SyntaxError as err:
            raise ScriptLoadError(syntax_error_report(err, self.name)) from err

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    def start(self, nrp: Any, on_done: Callable[[ScriptOutcome], None]) -> threading.Thread:
        """Run the checked script on MainScriptThread (a daemon); `on_done` runs on it at the end."""
        if self._code is None:
            self.check()
        if self._thread is not None:
            raise RuntimeError("the main script has already been started")
        # A daemon: a script that ignores stop must not keep the kernel process alive.
        self._thread = threading.Thread(target=self._run, args=(nrp, on_done), name=THREAD_NAME, daemon=True)
        self._thread.start()
        return self._thread

    def join(self, timeout: float | None = None) -> bool:
        """True when the script thread has ended (or never started)."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self, nrp: Any, on_done: Callable[[ScriptOutcome], None]) -> None:
        outcome = ScriptOutcome(None, None)
        file_logger = None
        try:
            file_logger = script_logger(self.log_dir, self.path, self.simulation_id)
            script_globals = {
                "__name__": "__main__",
                "__builtins__": builtins,
                "NRPSimulationTimeout": NRPSimulationTimeout,
                "nrp": nrp,
                "file_logger": file_logger,
                "logging": logging,
            }
            exec(self._code, script_globals)  # noqa: S102 -- running the user's script is the point
            log.info("main script %s returned", self.name)
        except SystemExit as err:
            # sys.exit() ends a script as returning does, unless it carries an error status.
            if err.code not in (None, 0):
                outcome = ScriptOutcome(err, exception_report(err, str(self.path), self.name))
        except BaseException as err:  # noqa: BLE001 -- every ending is reported; a daemon has no caller
            report = exception_report(err, str(self.path), self.name)
            if report is None:
                log.info("main script %s stopped", self.name)
            else:
                log.info("main script %s ended with %s", self.name, report.msg)
            outcome = ScriptOutcome(err, report)
        finally:
            if file_logger is not None:
                close_logger(file_logger)
            try:
                on_done(outcome)
            except Exception:
                log.exception("completion callback of the main script failed")
