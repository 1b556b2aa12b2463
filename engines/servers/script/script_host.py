"""One engine script's lifecycle, shared by the JSON and gRPC servers.

The host loads the script on `initialize`, serialises every call into it (requests may arrive on
several connections or gRPC worker threads, but scripts are not thread-safe), keeps nrp-core's
time accounting, and turns any failure into one message that names the engine, the script's
file and line, and the exception.
"""

import contextlib
import logging
import os
import threading
import traceback
from collections.abc import Iterator

from engines.errors import EngineError
from engines.servers.script import script_calls
from engines.servers.script.script_base import ScriptBase
from engines import engine_wire as wire
from engines.servers.script.script_loader import load_script_class

log = logging.getLogger(__name__)

class EngineStateError(RuntimeError):
    """A request the engine's state does not allow (e.g. run_loop before initialize)."""


class ScriptHost:
    """The engine script of one engine process, from initialize to shutdown."""

    def __init__(self, engine_name: str, base: type[ScriptBase]):
        self.engine_name = engine_name
        self._base = base
        self._lock = threading.Lock()
        self._script: ScriptBase | None = None
        self._python_file: str | None = None
        self._shut_down = False

    def initialize(self, config: dict) -> None:
        with self._lock:
            if self._shut_down:
                raise EngineStateError("initialize after shutdown")
            if self._script is not None:
                raise EngineStateError("the engine is already initialized")
            if not isinstance(config, dict):
                raise ValueError(f"the initialize request must be the engine config object, got {config!r}")
            if config.get(wire.TIME_RATIO_KEY) != wire.TIME_RATIO:
                raise ValueError(f"{wire.TIME_RATIO_KEY} must be {wire.TIME_RATIO} (integer nanoseconds), "
                                 f"got {config.get(wire.TIME_RATIO_KEY)!r}")
            if config.get("EngineName", self.engine_name) != self.engine_name:
                log.warning('config EngineName "%s" differs from --engine "%s"; using "%s"',
                            config["EngineName"], self.engine_name, self.engine_name)
            script = self._load_script(config)
            script._name = self.engine_name
            script._config = config
            script._prepare(config)
            script.initialize()
            self._script = script

    def _load_script(self, config: dict) -> ScriptBase:
        """A new, uninitialized script for this config; records the file that failures name.

        Here, an instance of the `Script` class the config's PythonFileName defines; hosts of
        other engines (NEST's brain file) override it.
        """
        python_file = config.get("PythonFileName")
        if not isinstance(python_file, str) or not python_file:
            raise ValueError("the engine config has no PythonFileName")
        self._python_file = python_file
        return load_script_class(python_file, self._base)()

    @contextlib.contextmanager
    def script(self) -> Iterator[ScriptBase]:
        """The initialized script, held exclusively for the duration of the block."""
        with self._lock:
            yield self._ready_script()

    def with_script(self, function, *args):
        """`function(script, *args)` with the initialized script held as `script()` holds it: a
        plain call, for a caller that makes one per step (an engine hosted in NRPCoreSim)."""
        with self._lock:
            return function(self._ready_script(), *args)

    def _ready_script(self) -> ScriptBase:
        if self._shut_down:
            raise EngineStateError("the engine has shut down")
        if self._script is None:
            raise EngineStateError("the engine is not initialized")
        return self._script

    def run_loop(self, time_step: int) -> int:
        if isinstance(time_step, float) and time_step.is_integer():
            time_step = int(time_step)
        if not isinstance(time_step, int) or isinstance(time_step, bool) or time_step < 0:
            raise ValueError(f"time_step must be a non-negative integer of nanoseconds, got {time_step!r}")
        with self.script() as script:
            return script_calls.advance(script, time_step)

    def reset(self) -> None:
        with self.script() as script:
            script_calls.reset(script)

    def shutdown(self) -> None:
        with self._lock:
            if self._shut_down:
                raise EngineStateError("the engine has shut down")
            # Shut down for good even if the script's shutdown() fails: the process exits next.
            # An engine that was never initialized (another engine failed first) just exits.
            self._shut_down = True
            if self._script is not None:
                self._script.shutdown()

    def close(self, timeout: float) -> bool:
        """Shut the script down, if it is running, when the process is stopped from outside.

        Waits up to `timeout` for a call in progress (a long runLoop) to finish; after that the
        script is abandoned rather than shut down concurrently with its own step, and False is
        returned.
        """
        if not self._lock.acquire(timeout=timeout):
            log.warning("a script call still runs after %.0f s; exiting without calling shutdown()", timeout)
            return False
        try:
            if self._script is not None and not self._shut_down:
                self._shut_down = True
                try:
                    self._script.shutdown()
                except Exception as exc:
                    log.error("%s", self.describe_failure("shutdown", exc))
            return True
        finally:
            self._lock.release()

    def describe_failure(self, action: str, exc: BaseException) -> str:
        """The error message for a failed request, for the engine's client."""
        location = _script_location(exc, self._python_file)
        if location:
            where = f" in {location}"
        elif self._python_file:
            where = f" (script {self._python_file})"
        else:
            where = ""
        return str(EngineError(self.engine_name, f"{action} failed{where}: {type(exc).__name__}: {exc}"))


def _script_location(exc: BaseException, python_file: str | None) -> str | None:
    """'<file>, line N, in <function>' of the innermost script frame of exc's traceback."""
    if python_file is None:
        return None
    path = os.path.abspath(python_file)
    if isinstance(exc, SyntaxError) and exc.filename and os.path.abspath(exc.filename) == path:
        return f"{python_file}, line {exc.lineno}"
    location = None
    for frame, lineno in traceback.walk_tb(exc.__traceback__):
        if os.path.abspath(frame.f_code.co_filename) == path:
            location = f"{python_file}, line {lineno}, in {frame.f_code.co_name}"
    return location
