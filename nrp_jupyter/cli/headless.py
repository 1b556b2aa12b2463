"""Running one experiment to its end without a notebook: launch, start, follow, stop.

`jupyter nrp run` is a thin main over `HeadlessRun`. The /events WebSocket is opened before the
launch, because a script that does not compile fails right after the launch answers, and its
runtime_error would otherwise be missed; the simulation's state is also polled now and then, so
that a dropped stream cannot make the run wait forever.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TextIO

from ..notebook.client import Connection, NrpError, Simulation, StateTransitionError, launch
from .progress import ProgressDisplay

ENDED_STATES = frozenset({"completed", "stopped", "failed"})
STATE_POLL_INTERVAL_S = 2.0
# After the end, messages already on their way (a runtime_error just before `completed`) still count.
SETTLE_S = 0.5
# The script let NRPSimulationTimeout escape: the simulation reached its timeout, which is no failure.
NOT_A_FAILURE = frozenset({"SimTimeout"})


@dataclass
class Outcome:
    """How a headless run ended."""

    simulation_id: int | None = None
    state: str | None = None
    runtime_errors: list[dict] = field(default_factory=list)
    timed_out: bool = False

    @property
    def failures(self) -> list[dict]:
        return [error for error in self.runtime_errors if error.get("error_type") not in NOT_A_FAILURE]

    @property
    def succeeded(self) -> bool:
        return self.state == "completed" and not self.failures and not self.timed_out


def format_runtime_error(error: dict) -> str:
    """NRP's runtime_error payload as a user reads it: file, line, message, and the line's text."""
    where = error.get("fileName") or "the simulation"
    line = error.get("line_number")
    if isinstance(line, int) and line > 0:
        where += f", line {line}"
    text = f"{error.get('error_type') or 'Runtime'} error in {where}: {error.get('msg', '')}"
    if error.get("line_text"):
        text += f"\n    {error['line_text'].strip()}"
        offset = error.get("offset")
        if isinstance(offset, int) and offset > 0:
            indent = len(error["line_text"]) - len(error["line_text"].lstrip())
            text += "\n    " + " " * max(0, offset - 1 - indent) + "^"
    return text


class HeadlessRun:
    """Launches `experiment` on `connection`, starts it and follows it until it ends or `timeout`
    seconds (None: no limit) have passed; `simulation` is set as soon as the launch answered, so
    that an interrupted run can still be stopped."""

    def __init__(self, connection: Connection, experiment: str, *, out: TextIO, interactive: bool,
                 config: str | None = None, script: str | None = None, timeout: float | None = None):
        self.connection = connection
        self.experiment = experiment
        self.config = config
        self.script = script
        self.timeout = timeout
        self.display = ProgressDisplay(out, interactive=interactive)
        self.simulation: Simulation | None = None
        self.outcome = Outcome()
        self._running_seen = False

    def run(self) -> Outcome:
        began = time.monotonic()
        # A plain request first: an unreachable server or a wrong token is said in REST's words.
        self.connection.version()
        with self.connection.events() as stream:
            self.display.message(f"Launching {self.experiment} on {self.connection.url}")
            self.simulation = launch(self.experiment, connection=self.connection, config=self.config,
                                     script=self.script)
            self.outcome.simulation_id = self.simulation.id
            took = time.monotonic() - began
            self.display.message(f"Simulation {self.simulation.id} initialized in {took:.1f} s; starting it")
            try:
                self.outcome.state = self.simulation.start()
            except StateTransitionError:
                # It failed between the launch's answer and the start (a script that does not
                # compile); its runtime_error is on the stream.
                self.outcome.state = self.simulation.state
                if self.outcome.state not in ENDED_STATES:
                    raise
            self._follow(stream, began)
        self.display.finish()
        return self.outcome

    def _follow(self, stream, began: float) -> None:
        deadline = None if self.timeout is None else began + self.timeout
        next_poll = time.monotonic() + STATE_POLL_INTERVAL_S
        settle_until = None
        while True:
            now = time.monotonic()
            if settle_until is None and self.outcome.state in ENDED_STATES:
                settle_until = now + SETTLE_S
            if settle_until is not None and now >= settle_until:
                return
            if deadline is not None and now >= deadline and settle_until is None:
                self.outcome.timed_out = True
                return
            limits = [until for until in (settle_until, deadline, next_poll) if until is not None]
            if stream.closed:
                time.sleep(max(0.0, min(limits) - now))
            else:
                try:
                    message = stream.next(timeout=max(0.01, min(limits) - now))
                except NrpError:  # the server closed the stream; the state polls carry on
                    message = None
                if message is not None:
                    self._take(message)
            if time.monotonic() >= next_poll and settle_until is None:
                self.outcome.state = self.simulation.state
                next_poll = time.monotonic() + STATE_POLL_INTERVAL_S

    def _take(self, message: dict) -> None:
        if message.get("simulationID") != self.simulation.id:
            return
        payload = message.get("payload")
        if not isinstance(payload, dict):
            return
        topic = message.get("topic")
        if topic == "status" and "state" in payload:
            if payload["state"] in ("created", "paused") and not self._running_seen:
                return  # from the launch, before the start: nothing has run yet
            self._running_seen = True
            self.display.update(payload)
            self.outcome.state = payload["state"]
        elif topic == "runtime_error":
            self.outcome.runtime_errors.append(payload)
            self.display.message(format_runtime_error(payload))

    def stop(self) -> str | None:
        """Stops the simulation unless it has ended for good; returns the final state."""
        if self.simulation is None:
            return None
        try:
            state = self.simulation.state
            if state not in ("stopped", "failed"):
                state = self.simulation.stop()
        except NrpError as error:
            self.display.message(f"Could not stop simulation {self.simulation.id}: {error}")
            return None
        return state
