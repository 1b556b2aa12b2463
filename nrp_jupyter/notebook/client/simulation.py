"""A simulation on an NRP server, and the launch that creates one on a given connection.

`launch` and `simulations` with a default connection (the server this kernel runs under) are in
`launching`: this module does not know `Connection`, so that `Connection.launch` can use it.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any, Protocol

from .errors import Conflict, NrpError, SimulationEnded, WaitTimeout
from .slots import RECHECK_S, SlotWaiter

STATES = frozenset({"created", "paused", "started", "completed", "stopped", "failed"})
FINAL_STATES = frozenset({"stopped", "failed"})
LAUNCH_TIMEOUT_S = 180.0
STATE_CHANGE_TIMEOUT_S = 60.0
QUERY_TIMEOUT_S = 10.0


class ServerConnection(Protocol):
    """What a simulation needs of its connection (`Connection` is one)."""

    url: str

    def request(self, method: str, path: str, body=None, timeout: float = 60): ...

    def simulations(self) -> list[dict]: ...

    def events(self, simulation_id: int | None = None, *, timeout: float = 10): ...


class Simulation:
    """Simulation `simulation_id` of the server behind `connection`.

    The methods are NRP's REST calls; state changes return the state the server answers with.
    """

    def __init__(self, connection: ServerConnection, simulation_id: int):
        self.connection = connection
        self.id = int(simulation_id)

    def __repr__(self) -> str:
        return f"Simulation({self.connection.url!r}, {self.id})"

    def __eq__(self, other) -> bool:
        if not isinstance(other, Simulation):
            return NotImplemented
        return (other.connection.url, other.id) == (self.connection.url, self.id)

    def __hash__(self) -> int:
        return hash((self.connection.url, self.id))

    # -- queries -------------------------------------------------------------------------------

    @property
    def state(self) -> str:
        """The backend's lifecycle state: created, paused, started, completed, stopped, failed."""
        return self.connection.request("GET", f"simulation/{self.id}/state", timeout=QUERY_TIMEOUT_S)["state"]

    def info(self) -> dict:
        """NRP's Simulation JSON (state, experimentID, experimentConfiguration, mainScript, ...)."""
        return self.connection.request("GET", f"simulation/{self.id}", timeout=QUERY_TIMEOUT_S)

    def details(self) -> dict:
        """`info()` plus `runtimeError` (NRP's runtime_error payload of the last error), `reason`
        (why it failed) and `status` (NRP's last status payload), each None when there is none."""
        return self.connection.request("GET", f"simulation/{self.id}/details", timeout=QUERY_TIMEOUT_S)

    def log_files(self) -> list[dict]:
        """The simulation's log files as `{"name", "content"}` (the end of each when large); live
        while it runs, from the archive in the experiment's folder once it has stopped."""
        return self.connection.request("GET", f"simulation/{self.id}/logs", timeout=QUERY_TIMEOUT_S)["files"]

    def logs(self) -> str:
        """All log files as one text, each under a `==> name <==` header."""
        return "\n".join(f"==> {entry['name']} <==\n{entry['content']}" for entry in self.log_files())

    def events(self, *, timeout: float = 10):
        """This simulation's messages from the /events WebSocket (an `EventStream`)."""
        return self.connection.events(self.id, timeout=timeout)

    def recording(self, *, timeout: float = 60):
        """The run's recording (a `Recording`: data frames per topic, replay), once it has stopped."""
        from .recording import Recording

        return Recording.fetch(self.connection, self.id, timeout=timeout)

    # -- state changes -----------------------------------------------------------------------

    def _request_state(self, state: str) -> str:
        answer = self.connection.request("PUT", f"simulation/{self.id}/state", body={"state": state},
                                         timeout=STATE_CHANGE_TIMEOUT_S)
        return answer["state"]

    def start(self) -> str:
        """Runs the main script (paused -> started)."""
        return self._request_state("started")

    def pause(self) -> str:
        """Pauses before the script's next `nrp.run_loop()` step (started -> paused)."""
        return self._request_state("paused")

    def resume(self) -> str:
        """Continues a paused script (paused -> started)."""
        return self._request_state("started")

    def stop(self) -> str:
        """Ends the simulation and frees everything it holds (final)."""
        return self._request_state("stopped")

    # -- steering, step and reset (our routes, beyond NRP's) -----------------------------------

    def set_datapack(self, engine: str, datapack: str, value: Any, *, type: str | None = None,  # noqa: A002
                     timeout: float = STATE_CHANGE_TIMEOUT_S) -> dict:
        """Steers: `value` replaces `engine`'s datapack `datapack` for the engine's next step (a JSON
        value; for a protobuf datapack, protobuf's JSON mapping and the message's full `type` name).

        Returns the server's answer: `status` "applied" with the `simulationTime` it took effect
        at, or, when no step came within a short wait (a paused simulation), "queued" with the
        `ticket` that `steering_request` follows. Unknown engines and datapacks are a NotFound, a
        value the engine cannot take or outside a declared control's range a BadRequest.
        """
        body = {"value": value} if type is None else {"type": type, "value": value}
        return self.connection.request("PUT", self._datapack_path(engine, datapack), body=body, timeout=timeout)

    def datapack(self, engine: str, datapack: str, *, timeout: float = STATE_CHANGE_TIMEOUT_S) -> Any:
        """The latest value `engine` holds of `datapack` (None when it holds none; a protobuf
        datapack as protobuf's JSON mapping)."""
        return self.connection.request("GET", self._datapack_path(engine, datapack), timeout=timeout)["value"]

    def steering_controls(self) -> list[dict]:
        """The steering controls the experiment declares (its steering.json), [] if none."""
        return self.connection.request("GET", f"simulation/{self.id}/steering", timeout=QUERY_TIMEOUT_S)["controls"]

    def steering_request(self, ticket: int) -> dict:
        """What became of a steering request: `status` queued, applied (with its simulationTime) or refused."""
        return self.connection.request("GET", f"simulation/{self.id}/steering/{int(ticket)}", timeout=QUERY_TIMEOUT_S)

    def step(self, steps: int = 1, *, timeout: float = STATE_CHANGE_TIMEOUT_S) -> dict:
        """Runs exactly `steps` loop steps of a paused simulation, which stays paused; returns
        `{"state", "steps", "simulationTime"}`."""
        return self.connection.request("POST", f"simulation/{self.id}/step", body={"steps": steps}, timeout=timeout)

    def reset(self, *, timeout: float = STATE_CHANGE_TIMEOUT_S) -> dict:
        """Back to time 0 (engines reset, functions reloaded), still paused; returns
        `{"state", "simulationTime"}`. An engine that refuses fails the simulation (a Conflict
        naming it)."""
        return self.connection.request("POST", f"simulation/{self.id}/reset", timeout=timeout)

    def _datapack_path(self, engine: str, datapack: str) -> str:
        quoted = [urllib.parse.quote(str(name), safe="") for name in (engine, datapack)]
        return f"simulation/{self.id}/datapacks/{quoted[0]}/{quoted[1]}"

    def wait_until(self, state: str | set[str], timeout: float, *, poll_interval: float = 0.2) -> str:
        """Waits until the state is `state` (or one of a set); returns it.

        Raises `WaitTimeout` after `timeout` seconds, and `SimulationEnded` as soon as the
        simulation is stopped or failed when that is not what was waited for. The state is read
        again when the /events WebSocket pushes a change of it (every `RECHECK_S` seconds at
        most otherwise), so many waiting scripts do not load the server; without the socket it
        is read every `poll_interval` seconds.
        """
        wanted = {state} if isinstance(state, str) else set(state)
        unknown = sorted(wanted - STATES)
        if unknown or not wanted:
            raise ValueError(f"not a simulation state: {', '.join(map(repr, unknown)) or 'none given'}; "
                             f"the states are {', '.join(sorted(STATES))}")
        deadline = time.monotonic() + timeout
        # Opened before the first read: a change between the read and the wait still arrives.
        stream = self._open_events()
        try:
            while True:
                current = self.state
                if current in wanted:
                    return current
                if current in FINAL_STATES:
                    raise SimulationEnded(f"simulation {self.id} is {current} and will never be "
                                          f"{' or '.join(sorted(wanted))}", state=current)
                if time.monotonic() >= deadline:
                    raise WaitTimeout(f"simulation {self.id} is still {current} after {timeout:g} s, not "
                                      f"{' or '.join(sorted(wanted))}", state=current)
                if stream is None:
                    time.sleep(min(poll_interval, max(0.0, deadline - time.monotonic())))
                elif not _wait_for_change(stream, current, min(deadline, time.monotonic() + RECHECK_S)):
                    stream.close()
                    stream = None
        finally:
            if stream is not None:
                stream.close()

    def _open_events(self):
        try:
            return self.events()
        except NrpError:  # no WebSocket through this proxy, say: reading the state will do
            return None


def _wait_for_change(stream, current: str, until: float) -> bool:
    """Returns once `stream` pushes a state other than `current` (or at `until`); False if the
    stream has closed."""
    while (left := until - time.monotonic()) > 0:
        try:
            message = stream.next(timeout=left)
        except NrpError:
            return False
        if pushed_state(message) not in (None, current):
            return True
    return True


def pushed_state(message) -> str | None:
    """The simulation state an /events message tells (a lifecycle target or a status's state)."""
    payload = message.get("payload") if isinstance(message, dict) else None
    if not isinstance(payload, dict):
        return None
    if message.get("topic") == "lifecycle":
        return payload.get("target_state")
    if message.get("topic") == "status":
        return payload.get("state")
    return None


def launch_on(connection: ServerConnection, experiment_id: str, *, config: str | None = None,
              script: str | None = None, timeout: float = LAUNCH_TIMEOUT_S,
              wait_for_slot: float | None = None) -> Simulation:
    """Launches experiment `experiment_id` on the server behind `connection`; see `launching.launch`."""
    if not isinstance(experiment_id, str) or not experiment_id:
        raise ValueError(f"an experiment id is a folder name, not {experiment_id!r}")
    if wait_for_slot is not None and wait_for_slot < 0:
        raise ValueError(f"wait_for_slot is a number of seconds, not {wait_for_slot!r}")
    body = {"experimentID": experiment_id}
    if config is not None:
        body["experimentConfiguration"] = config
    if script is not None:
        body["mainScript"] = script
    if wait_for_slot is None:
        answer = connection.request("POST", "simulation", body=body, timeout=timeout)
        return Simulation(connection, answer["simulationID"])
    with SlotWaiter(connection, wait_for_slot) as slots:
        while True:
            try:
                answer = connection.request("POST", "simulation", body=body, timeout=timeout)
                return Simulation(connection, answer["simulationID"])
            except Conflict as refusal:
                if slots.time_left <= 0:
                    raise slots.give_up(refusal) from None
            slots.wait()


def simulations_on(connection: ServerConnection) -> list[Simulation]:
    """Every simulation the server behind `connection` knows, oldest first."""
    return [Simulation(connection, entry["simulationID"]) for entry in connection.simulations()]
