"""The simulation's states and which requests each allows (nrp-core 1.4's SimulationManager)."""

from __future__ import annotations

import enum

from engines.errors import IllegalRequest


class SimulationState(str, enum.Enum):
    NOT_SET = ""
    CREATED = "Created"
    """Engines not launched; `initialize` launches and initialises them."""
    INITIALIZED = "Initialized"
    """Engines ready at t=0; the loop can run or be reset."""
    RUNNING = "Running"
    """A run request is executing; only `stop` and `shutdown` are accepted."""
    STOPPED = "Stopped"
    """A run request has ended; the loop can run again, be reset or shut down."""
    FAILED = "Failed"
    """An action raised; only `shutdown` is possible."""


class Request(str, enum.Enum):
    INITIALIZE = "initialize"
    RUN_LOOP = "runLoop"
    RUN_UNTIL_TIMEOUT = "runUntilTimeout"
    RESET = "reset"
    STOP = "stopLoop"
    SHUTDOWN = "shutdown"


S = SimulationState
ALLOWED: dict[Request, frozenset[SimulationState]] = {
    Request.INITIALIZE: frozenset({S.CREATED}),
    Request.RUN_LOOP: frozenset({S.INITIALIZED, S.STOPPED}),
    Request.RUN_UNTIL_TIMEOUT: frozenset({S.INITIALIZED, S.STOPPED}),
    Request.RESET: frozenset({S.INITIALIZED, S.STOPPED}),
    Request.STOP: frozenset({S.INITIALIZED, S.STOPPED, S.RUNNING}),
    Request.SHUTDOWN: frozenset({S.INITIALIZED, S.STOPPED, S.RUNNING, S.FAILED}),
}

_VERB = {Request.INITIALIZE: "initialized", Request.RUN_LOOP: "run", Request.RUN_UNTIL_TIMEOUT: "run",
         Request.RESET: "reset", Request.STOP: "stopped", Request.SHUTDOWN: "shutdown"}


def check_allowed(request: Request, state: SimulationState) -> None:
    if state not in ALLOWED[request]:
        raise IllegalRequest(f'Simulation can\'t be {_VERB[request]} from state "{state.value}"')
