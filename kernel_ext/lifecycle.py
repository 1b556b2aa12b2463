"""The simulation server's lifecycle inside the kernel, with NRP's state names (spec 1.4), pure.

    created --initialized--> paused --start/resume--> started --pause--> paused
    started --script ends--> completed
    paused --step n / reset--> paused     (steer: paused, started)
    any state --stop--> stopped          (failed stays failed)
    created, paused --setup breaks--> failed

Self-transitions are accepted and change nothing, as NRP's are silent.
"""

from __future__ import annotations

import enum

from .errors import IllegalCommand
from .protocol import Command


class ServerState(str, enum.Enum):
    CREATED = "created"
    """initialize() not called yet, or NRPCoreSim and the engines still starting; only stop."""
    PAUSED = "paused"
    """Initialised; the script not started yet, or blocked in run_loop(); start, resume, pause, stop."""
    STARTED = "started"
    """The script is running; pause, stop (start and resume change nothing)."""
    COMPLETED = "completed"
    """The script ended; NRPCoreSim is still up until stop."""
    STOPPED = "stopped"
    """Stopped: the script thread ended and NRPCoreSim is shut down. Final."""
    FAILED = "failed"
    """Initialisation failed or NRPCoreSim died before the script ran; nothing is left running. Final."""


S = ServerState
ALLOWED: dict[Command, frozenset[ServerState]] = {
    Command.INITIALIZE: frozenset({S.CREATED}),
    Command.START: frozenset({S.PAUSED, S.STARTED}),
    Command.PAUSE: frozenset({S.PAUSED, S.STARTED}),
    Command.RESUME: frozenset({S.PAUSED, S.STARTED}),
    Command.STOP: frozenset(ServerState),
    # Steering and reads while NRPCoreSim runs the simulation; step and reset only while paused.
    Command.STEER: frozenset({S.PAUSED, S.STARTED}),
    Command.READ: frozenset({S.PAUSED, S.STARTED, S.COMPLETED}),
    Command.STEP: frozenset({S.PAUSED}),
    Command.RESET: frozenset({S.PAUSED}),
}

#: Where each command leads from a state it is allowed in (a missing entry: the state stays).
TARGET: dict[Command, ServerState] = {
    Command.START: S.STARTED,
    Command.PAUSE: S.PAUSED,
    Command.RESUME: S.STARTED,
    Command.STOP: S.STOPPED,
}


def check_command(command: Command, state: ServerState) -> ServerState:
    """The state `command` leads to from `state`; raises IllegalCommand if it is not allowed there."""
    if state not in ALLOWED[command]:
        raise IllegalCommand(command.value, state.value)
    if command is Command.STOP and state is S.FAILED:
        return S.FAILED
    return TARGET.get(command, state)
