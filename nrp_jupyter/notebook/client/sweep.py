"""Running many simulations to their end, as many at once as the server allows.

    from nrp_jupyter import Connection, run_all
    runs = run_all(["tf_exchange"] * 16, connection=Connection(url, token), wait_for_slot=600)
    for run in runs:
        print(run.simulation_id, run.state, run.status["simulationTime"])

Each run launches (queueing for a slot when the server is at its `max_simulations`), starts,
waits until the script ends, keeps the simulation's details and stops it, which frees its slot
for the next. Runs go on threads of their own, each with its own `Connection`: one connection
sends one request at a time, and a launch answers only once its kernel is up.
"""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterable
from dataclasses import dataclass, field

from .connection import Connection
from .errors import NrpError, SimulationEnded
from .launching import launch
from .simulation import Simulation

DEFAULT_RUN_TIMEOUT_S = 600.0


@dataclass
class Run:
    """The outcome of one run of `run_all`.

    `state` is `completed` when the script ended (its timeout, a return, or a user error then in
    `runtime_error`), `failed` when the launch or the simulation failed, and `error` says why.
    """

    experiment: str
    simulation_id: int | None = None
    state: str = "created"
    status: dict = field(default_factory=dict)
    runtime_error: dict | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """The script ran to its end without a runtime error."""
        return self.state == "completed" and self.runtime_error is None and self.error is None


def run_to_end(experiment: str, *, connection: Connection, config: str | None = None,
               script: str | None = None, timeout: float = DEFAULT_RUN_TIMEOUT_S,
               wait_for_slot: float | None = None) -> Run:
    """Launches `experiment`, starts it, waits until it has completed (at most `timeout` s once
    started), and stops it. Never raises for the simulation's own failure: `Run` says what happened."""
    run = Run(experiment)
    simulation: Simulation | None = None
    try:
        simulation = launch(experiment, connection=connection, config=config, script=script,
                            wait_for_slot=wait_for_slot)
        run.simulation_id = simulation.id
        simulation.start()
        run.state = simulation.wait_until("completed", timeout)
    except SimulationEnded as ended:
        run.state, run.error = ended.state or "failed", ended.message
    except NrpError as error:
        run.state, run.error = "failed", str(error)
    finally:
        if simulation is not None:
            _finish(simulation, run)
    return run


def _finish(simulation: Simulation, run: Run) -> None:
    try:
        details = simulation.details()
        run.status = details.get("status") or {}
        run.runtime_error = details.get("runtimeError")
        if details.get("reason") and not run.error:
            run.error = details["reason"]
        if details.get("state") not in ("stopped", "failed"):
            simulation.stop()
    except NrpError as error:
        run.error = run.error or f"could not stop simulation {simulation.id}: {error}"


def run_all(experiments: Iterable[str | dict], *, connection: Connection | None = None,
            parallel: int | None = None, timeout: float = DEFAULT_RUN_TIMEOUT_S,
            wait_for_slot: float | None = DEFAULT_RUN_TIMEOUT_S) -> list[Run]:
    """Runs every experiment to its end, `parallel` at once (all by default); the server's
    `max_simulations` queues the rest when `wait_for_slot` is given (seconds each may wait).

    An item is an experiment id, or `{"experiment": id, "config": file, "script": file}`.
    Returns one `Run` per item, in the given order.
    """
    items = [_item(entry) for entry in experiments]
    if not items:
        return []
    connection = connection or Connection.discover()
    workers = parallel or len(items)
    if workers < 1:
        raise ValueError(f"parallel must be at least 1, not {parallel}")

    def one(item: dict) -> Run:
        with Connection(connection.url, connection.token) as own:
            return run_to_end(item["experiment"], connection=own, config=item.get("config"),
                              script=item.get("script"), timeout=timeout, wait_for_slot=wait_for_slot)

    with concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="nrp-run") as pool:
        return list(pool.map(one, items))


def _item(entry: str | dict) -> dict:
    if isinstance(entry, str) and entry:
        return {"experiment": entry}
    if isinstance(entry, dict) and isinstance(entry.get("experiment"), str):
        unknown = set(entry) - {"experiment", "config", "script"}
        if unknown:
            raise ValueError(f"unknown key(s) {sorted(unknown)} in run {entry!r}; the keys are experiment, "
                             f"config, script")
        return entry
    raise ValueError(f"a run is an experiment id or {{'experiment': id, ...}}, not {entry!r}")
