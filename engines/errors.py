"""Errors of the simulation core, as one tree.

    NrpCoreError
    ├── ConfigError            a simulation or engine config is invalid (names the file and JSON path)
    ├── FunctionError          a transceiver/preprocessing/status function failed to load or run
    │                          (names the function, its file and line)
    ├── IllegalRequest         a request the simulation's state does not allow (gRPC CANCELLED)
    └── EngineError            an engine failed (names the engine)
        ├── EngineLaunchError  its process could not be started or did not come up
        ├── EngineTimeout      a command exceeded EngineCommandTimeout
        └── EngineCrashed      its process died or its connection broke

Every message is meant for the experiment's author: it says which file, key, function or engine
is at fault, and why.
"""


import re


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


# How a running function's failure names it: `TransceiverFunction 'tf_1' (tf_1.py, line 8) ...`.
# NRPCoreSim's clients receive only this text (nrp-core's `errorMsg`), so the form is a contract:
# the experiment kernel reads the file and line back from it with `function_location`.
_FUNCTION_AT = re.compile(r"(?P<kind>TransceiverFunction|PreprocessingFunction|StatusFunction) "
                          r"'(?P<name>[^']*)' \((?P<file>[^()]+?), line (?P<line>\d+)\)")


def function_at(kind: str, name: str, file: str, line: int) -> str:
    """The words that name a function of the experiment in a message about it."""
    return f"{kind} '{name}' ({file}, line {line})"


def function_location(message: str) -> tuple[str, int] | None:
    """The file and line of the first function named in `message` by `function_at`."""
    found = _FUNCTION_AT.search(message)
    return (found["file"], int(found["line"])) if found else None


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
