"""A Python client of nrp_jupyter's REST API, for notebooks and scripts.

    from nrp_jupyter import launch
    simulation = launch("tf_exchange")        # the Jupyter server this kernel runs under
    simulation.start()
    simulation.wait_until("completed", timeout=60)
    print(simulation.logs())
    simulation.stop()

Synchronous and stdlib-only for HTTP (the WebSocket of `events()` uses websocket-client, which
jupyter_server depends on). Importing it starts nothing and reads no environment.
"""

from .connection import Connection
from .errors import (AuthError, BadRequest, Conflict, Forbidden, NoFreeSlot, NotFound, NrpError, ServerError,
                     ServerNotFound, ServerUnreachable, SimulationEnded, StateTransitionError, Unauthorized,
                     WaitTimeout)
from .launching import launch, simulations
from .recording import Recording
from .simulation import FINAL_STATES, STATES, Simulation
from .sweep import Run, run_all, run_to_end

__all__ = [
    "FINAL_STATES", "STATES", "AuthError", "BadRequest", "Conflict", "Connection", "Forbidden", "NoFreeSlot",
    "NotFound", "NrpError", "Recording", "Run", "ServerError", "ServerNotFound", "ServerUnreachable",
    "Simulation", "SimulationEnded", "StateTransitionError", "Unauthorized", "WaitTimeout", "launch", "run_all",
    "run_to_end", "simulations",
]
