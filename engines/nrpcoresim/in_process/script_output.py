"""Where an in-process engine script's prints go: where a launched engine's output would.

A launched engine writes to the simulation's engine output (NRPCoreSim's log file with
`--logoutput all|engines`), and NRPCoreSim's own console stays for NRPCoreSim. An in-process
script shares NRPCoreSim's sys.stdout and sys.stderr, so while engines with an output run, both
are replaced by streams that send what a thread writes during a script call (`route`) to that
engine's output, and everything else where it went before.
"""

from __future__ import annotations

import sys
import threading

_route = threading.local()
_lock = threading.Lock()
_users = 0
_replaced: tuple | None = None


class _RoutedStream:
    """A stand-in for sys.stdout or sys.stderr that writes to the calling thread's route, if any."""

    def __init__(self, default):
        self._default = default

    def _target(self):
        return getattr(_route, "output", None) or self._default

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def __getattr__(self, name):
        return getattr(self._default, name)


def install() -> None:
    """Routes sys.stdout and sys.stderr until as many `uninstall` calls have been made."""
    global _users, _replaced
    with _lock:
        _users += 1
        if _users == 1:
            _replaced = (sys.stdout, sys.stderr)
            sys.stdout, sys.stderr = _RoutedStream(sys.stdout), _RoutedStream(sys.stderr)


def uninstall() -> None:
    global _users, _replaced
    with _lock:
        if _users == 0:
            return
        _users -= 1
        if _users == 0 and _replaced is not None:
            # Only streams still ours go back: someone who replaced them since keeps theirs.
            if isinstance(sys.stdout, _RoutedStream):
                sys.stdout = _replaced[0]
            if isinstance(sys.stderr, _RoutedStream):
                sys.stderr = _replaced[1]
            _replaced = None


def route(output):
    """What the calling thread writes to sys.stdout or sys.stderr goes to `output` from now on,
    until `restore` is given the route this returns (plain functions rather than a context
    manager: they run around every script call)."""
    previous = getattr(_route, "output", None)
    _route.output = output
    return previous


def restore(previous) -> None:
    _route.output = previous
