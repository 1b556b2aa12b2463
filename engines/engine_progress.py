"""NRPCoreSim's log lines about each engine's launch and initialize, and reading them back.

A simulation whose launch exceeds its time names the engines that never finished starting or
initializing. The server knows of NRPCoreSim's work only what its log says, so these lines are a
contract: written by `tracked`, read back by `unfinished`, both here.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable

log = logging.getLogger("engines.progress")

LAUNCH = "launch"
INITIALIZE = "initialize"

_LINE = re.compile(r"engine '(?P<engine>[^'\n]+)': (?P<step>launch|initialize) (?P<what>begun|done)")


def tracked(engine: str, step: str, function: Callable[[], object]) -> Callable[[], object]:
    """`function`, logging when `step` of `engine` begins and when it is done (with its time)."""
    def call():
        began = time.monotonic()
        log.info("engine '%s': %s begun", engine, step)
        result = function()
        log.info("engine '%s': %s done in %.3f s", engine, step, time.monotonic() - began)
        return result
    return call


def unfinished(log_text: str) -> list[tuple[str, str]]:
    """(engine, step) of every step the log shows begun and not done, in the order they began."""
    pending: dict[tuple[str, str], None] = {}
    for found in _LINE.finditer(log_text):
        key = (found["engine"], found["step"])
        if found["what"] == "begun":
            pending[key] = None
        else:
            pending.pop(key, None)
    return list(pending)
