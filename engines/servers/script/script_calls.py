"""What nrp-core's Python engine servers do to an engine script on each request, in its order.

Shared by the ScriptHost (this project's servers, which add locking and state checks) and the
module-level callback surfaces `nrp_core.engines.python_json.server_callbacks` and
`nrp_core.engines.python_grpc.grpc_server_callbacks`, which keep nrp-core's behaviour exactly.
"""

import sys

from engines import engine_wire as wire
from engines.servers.script.script_base import ScriptBase
from engines.servers.script.script_loader import load_script_class


class UnsupportedTimeRatio(ValueError):
    """The client's time unit is not the nanosecond, the only one nrp-core's Python engines take."""

    def __init__(self, engine_kind: str, ratio):
        super().__init__(f"NRP-Core was compiled with SimulationTime units different from nanoseconds (i.e. "
                         f"ratio {ratio!r}), but {engine_kind} only support nanoseconds.")


def check_time_ratio(config: dict, engine_kind: str) -> None:
    """Raises UnsupportedTimeRatio, worded as nrp-core's `engine_kind` server words it."""
    ratio = config.get(wire.TIME_RATIO_KEY)
    if ratio is None or list(ratio) != wire.TIME_RATIO:
        raise UnsupportedTimeRatio(engine_kind, ratio)


def new_script(config: dict, base: type[ScriptBase]) -> ScriptBase:
    """The Script of the config's PythonFileName, named and configured, not yet initialized."""
    script = load_script_class(config["PythonFileName"], base)()
    script._name = config["EngineName"]
    script._config = config
    script._prepare(config)
    return script


def advance(script: ScriptBase, time_step: int) -> int:
    """One runLoop request: the time advances first, then the script steps; the new time."""
    script._advanceTime(time_step)
    script.runLoop(time_step)
    return int(script._time_ns)


def reset(script: ScriptBase) -> None:
    """The script's reset() sees the time it reached; only a successful reset zeroes it."""
    script.reset()
    script._time_ns = 0


def flush_std() -> None:
    """Script output reaches a redirected log at once, as nrp-core's servers make sure of."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
