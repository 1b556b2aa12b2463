"""`launch` and `simulations`, on a given connection or on the Jupyter server this kernel runs under."""

from __future__ import annotations

from .connection import Connection
from .simulation import LAUNCH_TIMEOUT_S, Simulation, launch_on, simulations_on


def launch(experiment_id: str, *, connection: Connection | None = None, config: str | None = None,
           script: str | None = None, timeout: float = LAUNCH_TIMEOUT_S,
           wait_for_slot: float | None = None) -> Simulation:
    """Launches experiment `experiment_id` (a folder of the server's experiment storage) and
    returns its simulation, initialised and paused.

    `config` and `script` name another simulation config or main script inside the experiment
    (NRP's `experimentConfiguration` and `mainScript`). Without `connection`, the Jupyter server
    this kernel runs under is used (`Connection.discover()`).

    The server refuses a launch (`Conflict`, 409) while its `max_simulations` are active; a
    completed simulation counts until it is stopped. With `wait_for_slot` (seconds) the launch
    queues instead: it waits for a simulation to end (pushed over /events, no polling) and tries
    again, raising `NoFreeSlot` (a `WaitTimeout`) if no slot frees within that time.
    """
    return launch_on(connection or Connection.discover(), experiment_id, config=config, script=script,
                     timeout=timeout, wait_for_slot=wait_for_slot)


def simulations(connection: Connection | None = None) -> list[Simulation]:
    """Every simulation the server knows, oldest first."""
    return simulations_on(connection or Connection.discover())
