"""Steering, reading, stepping and resetting simulations: the service behind our routes beyond NRP's.

    PUT  .../simulation/<id>/datapacks/<engine>/<datapack>  steer: 200 once applied, else 202 + ticket
    GET  .../simulation/<id>/datapacks/<engine>/<datapack>  the engine's latest value
    GET  .../simulation/<id>/steering                       the experiment's declared controls
    GET  .../simulation/<id>/steering/<ticket>              what became of a steering request
    POST .../simulation/<id>/step {"steps": N}              N loop steps, then paused again
    POST .../simulation/<id>/reset                          back to time 0, paused

Each request goes to the experiment kernel as a `kernel_ext.protocol` request; its outcome comes
back as an event (Steered, DataPackRead, Stepped, ResetDone), which resolves the waiting request
here. An applied steering is published by the StatusPublisher (`steering` topic, MQTT and /events),
so every client sees every steering in the order the loop applied them.

It is a part of `SimulationService` (simulations.py), whose records, runs and locks it uses.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from typing import Any, Protocol

from kernel_ext.protocol import (Command, Completed, DataPackRead, KernelEvent, ReadRequest, ResetDone, Steered,
                                 SteerRequest, StepRequest, Stepped, Stopped)

from . import steering_declarations
from .errors import (GeneralError, InvalidSteering, NotOwner, NotSteerable, NrpError, ResetRefused,
                     SimulationBusy, SteeringTargetNotFound)
from .kernel_errors import KernelCommandError, KernelGone
from .lifecycle import SimulationState, Trigger, requested_action
from .models import Simulation, SteerRequest as SteerBody, StepRequest as StepBody

log = logging.getLogger(__name__)

State = SimulationState
STEERABLE = frozenset({State.PAUSED, State.STARTED})
READABLE = frozenset({State.PAUSED, State.STARTED, State.COMPLETED})
#: Tickets remembered per simulation for GET .../steering/<ticket>.
KEPT_TICKETS = 1000


class SimulationHost(Protocol):
    """What Controls uses of the SimulationService it is a part of."""

    publisher: Any

    def get(self, simulation_id: int) -> Simulation: ...

    def lock(self, simulation_id: int) -> asyncio.Lock: ...

    def transition(self, record: Simulation, trigger: Trigger) -> None: ...

    def run_of(self, simulation_id: int) -> Any: ...

    def fail_later(self, simulation_id: int, reason: str) -> None: ...

    def steering_controls(self, record: Simulation) -> list[dict]: ...


class Controls:
    def __init__(self, service: SimulationHost, *, steer_wait_s: float = 2.0, step_wait_s: float = 60.0,
                 reset_wait_s: float = 60.0, read_wait_s: float = 20.0):
        self._service = service
        # How long a request waits for its outcome before answering without it (202 for steering).
        self.steer_wait_s = steer_wait_s
        self.step_wait_s = step_wait_s
        self.reset_wait_s = reset_wait_s
        self.read_wait_s = read_wait_s
        self._ids = itertools.count(1)
        self._tickets: dict[int, collections.OrderedDict[int, dict]] = {}
        self._waiting: dict[tuple[int, str, int], asyncio.Future] = {}
        self._declarations: dict[int, list[dict]] = {}

    # -- steering ---------------------------------------------------------------------------------

    async def steer(self, simulation_id: int, engine: str, datapack: str, body, user: str) -> tuple[int, dict]:
        """(200, the applied steering event) or (202, the queued ticket)."""
        record = self._service.get(simulation_id)
        request = SteerBody.from_body(body)
        self._check_owner(record, user)
        self._check_state(record, STEERABLE, "steering", "paused or started")
        steering_declarations.check_value(self.declarations(simulation_id), engine, datapack, request.value)
        ticket = next(self._ids)
        entry = {"ticket": ticket, "status": "queued", "engine": engine, "datapack": datapack,
                 "value": request.value, "type": request.type, "who": user, "requestTime": time.time()}
        tickets = self._tickets.setdefault(simulation_id, collections.OrderedDict())
        tickets[ticket] = entry
        while len(tickets) > KEPT_TICKETS:
            tickets.popitem(last=False)
        outcome = self._expect(simulation_id, "steered", ticket)
        try:
            await self._send(record, SteerRequest(ticket, engine, datapack, request.value, request.type),
                             engine=engine, datapack=datapack)
        except BaseException:
            tickets.pop(ticket, None)
            self._waiting.pop((simulation_id, "steered", ticket), None)
            raise
        try:
            event = await asyncio.wait_for(asyncio.shield(outcome), self.steer_wait_s)
        except asyncio.TimeoutError:
            return 202, {**_public(entry), "location": self.ticket_path(simulation_id, ticket)}
        if event is None or not event.applied:
            raise _refused(entry, event)
        return 200, _public(entry)

    def ticket(self, simulation_id: int, ticket: int) -> dict:
        self._service.get(simulation_id)
        entry = self._tickets.get(simulation_id, {}).get(ticket)
        if entry is None:
            raise SteeringTargetNotFound(f"Simulation {simulation_id} has no steering request {ticket} (the "
                                         f"last {KEPT_TICKETS} are kept)", engine="")
        return _public(entry)

    @staticmethod
    def ticket_path(simulation_id: int, ticket: int) -> str:
        return f"simulation/{simulation_id}/steering/{ticket}"

    async def read(self, simulation_id: int, engine: str, datapack: str) -> dict:
        record = self._service.get(simulation_id)
        self._check_state(record, READABLE, "reading a datapack", "paused, started or completed")
        request = next(self._ids)
        answer = self._expect(simulation_id, "datapack", request)
        try:
            await self._send(record, ReadRequest(request, engine, datapack), engine=engine, datapack=datapack)
            event = await asyncio.wait_for(answer, self.read_wait_s)
        except asyncio.TimeoutError:
            raise GeneralError(f"engine '{engine}' did not answer for datapack '{datapack}' within "
                               f"{self.read_wait_s:g} s") from None
        finally:
            self._waiting.pop((simulation_id, "datapack", request), None)
        if event is None:
            raise NotSteerable(simulation_id, record.state.value, "reading a datapack", "paused, started or completed")
        if event.error:
            if event.missing:
                raise SteeringTargetNotFound(event.error, engine=engine, datapack=datapack)
            raise NotSteerable(simulation_id, record.state.value, f"reading a datapack ({event.error})",
                               "paused, started or completed")
        return {"engine": engine, "datapack": datapack, "type": event.type, "value": event.value}

    def declarations(self, simulation_id: int) -> list[dict]:
        """The controls the simulation's experiment declares in steering.json (checked at launch)."""
        if simulation_id not in self._declarations:
            record = self._service.get(simulation_id)
            self._declarations[simulation_id] = self._service.steering_controls(record)
        return self._declarations[simulation_id]

    # -- step and reset ---------------------------------------------------------------------------

    async def step(self, simulation_id: int, body, user: str) -> dict:
        record = self._service.get(simulation_id)
        request = StepBody.from_body(body)
        self._check_owner(record, user)
        key = (simulation_id, "stepped", 0)
        async with self._service.lock(simulation_id):
            requested_action(record.state, Trigger.STEPPED)
            if key in self._waiting or (simulation_id, "reset", 0) in self._waiting:
                raise SimulationBusy(f"Simulation {simulation_id} is still running the steps of a previous "
                                     f"request")
            done = self._expect(simulation_id, "stepped", 0)
            try:
                await self._send(record, StepRequest(request.steps))
            except BaseException:
                self._waiting.pop(key, None)
                raise
        try:
            event = await asyncio.wait_for(asyncio.shield(done), self.step_wait_s)
        except asyncio.TimeoutError:
            return {"state": record.state.value, "steps": None, "simulationTime": None, "status": "stepping"}
        finally:
            if done.done():
                self._waiting.pop(key, None)
        if isinstance(event, Stepped):
            async with self._service.lock(simulation_id):
                if record.state is State.PAUSED:
                    self._service.transition(record, Trigger.STEPPED)
            return {"state": record.state.value, "steps": event.steps, "simulationTime": event.simulationTime}
        return {"state": record.state.value, "steps": None, "simulationTime": None}

    async def reset(self, simulation_id: int, user: str) -> dict:
        record = self._service.get(simulation_id)
        self._check_owner(record, user)
        key = (simulation_id, "reset", 0)
        async with self._service.lock(simulation_id):
            requested_action(record.state, Trigger.RESET)
            if (simulation_id, "stepped", 0) in self._waiting:
                raise SimulationBusy(f"Simulation {simulation_id} is still running the steps of a step request")
            done = self._expect(simulation_id, "reset", 0)
            try:
                await self._send(record, Command.RESET)
                event = await asyncio.wait_for(done, self.reset_wait_s)
            except asyncio.TimeoutError:
                raise GeneralError(f"the reset of simulation {simulation_id} did not end within "
                                   f"{self.reset_wait_s:g} s") from None
            finally:
                self._waiting.pop(key, None)
            if isinstance(event, ResetDone) and event.ok:
                if record.state is State.PAUSED:
                    self._service.transition(record, Trigger.RESET)
                return {"state": record.state.value, "simulationTime": 0.0}
        if isinstance(event, ResetDone):
            raise ResetRefused(simulation_id, event.engine, event.error)
        raise NotSteerable(simulation_id, record.state.value, "reset", "paused")

    # -- kernel events ----------------------------------------------------------------------------

    def on_event(self, simulation_id: int, event: KernelEvent) -> None:
        """The kernel's answers to our requests, and the ends that leave them unanswered."""
        match event:
            case Steered():
                self._on_steered(simulation_id, event)
            case DataPackRead():
                self._resolve((simulation_id, "datapack", event.request), event)
            case Stepped():
                self._resolve((simulation_id, "stepped", 0), event)
            case ResetDone():
                self._resolve((simulation_id, "reset", 0), event)
                if not event.ok:
                    self._service.fail_later(simulation_id, f"the reset failed: {event.error}")
            case Completed() | Stopped():
                self.ended(simulation_id)

    def ended(self, simulation_id: int) -> None:
        """The script or the kernel ended: nothing waiting for this simulation will be answered."""
        for key in [key for key in self._waiting if key[0] == simulation_id]:
            self._resolve(key, None)

    def forget(self, simulation_id: int) -> None:
        """The simulation is final: its tickets and declarations go (a server runs many simulations)."""
        self.ended(simulation_id)
        self._declarations.pop(simulation_id, None)
        self._tickets.pop(simulation_id, None)

    def _on_steered(self, simulation_id: int, event: Steered) -> None:
        entry = self._tickets.get(simulation_id, {}).get(event.ticket)
        if entry is not None:
            entry.update(status="applied" if event.applied else "refused", simulationTime=event.simulationTime,
                         wallTime=time.time(), error=event.error or None, missing=event.missing)
            if event.applied:
                self._service.publisher.steering(simulation_id, _published(entry))
        self._resolve((simulation_id, "steered", event.ticket), event)

    # -- helpers ----------------------------------------------------------------------------------

    def _expect(self, simulation_id: int, kind: str, number: int) -> asyncio.Future:
        future = asyncio.get_running_loop().create_future()
        self._waiting[(simulation_id, kind, number)] = future
        return future

    def _resolve(self, key: tuple[int, str, int], event) -> None:
        future = self._waiting.pop(key, None)
        if future is not None and not future.done():
            future.set_result(event)

    async def _send(self, record: Simulation, request, *, engine: str | None = None,
                    datapack: str | None = None) -> None:
        run = self._service.run_of(record.simulation_id)
        if run is None:
            raise NotSteerable(record.simulation_id, record.state.value, "this request", "running")
        try:
            if isinstance(request, Command):
                await run.runner.command(request)
            else:
                await run.runner.request(request)
        except KernelGone as error:
            raise NotSteerable(record.simulation_id, record.state.value, f"this request ({error})",
                               "running") from None
        except KernelCommandError as error:
            raise _kernel_refusal(record, error, engine, datapack) from None

    @staticmethod
    def _check_owner(record: Simulation, user: str) -> None:
        if record.owner != user:
            raise NotOwner()

    @staticmethod
    def _check_state(record: Simulation, allowed: frozenset, what: str, words: str) -> None:
        if record.state not in allowed:
            raise NotSteerable(record.simulation_id, record.state.value, what, words)


def _kernel_refusal(record: Simulation, error: KernelCommandError, engine: str | None,
                    datapack: str | None) -> NrpError:
    """The kernel's refusal (kernel_ext.errors, by class name) as the REST error it deserves."""
    message = error.evalue
    match error.ename:
        case "UnknownSteeringTarget":
            return SteeringTargetNotFound(message, engine=engine or "", datapack=datapack)
        case "InvalidSteeringValue":
            key = message.split(":", 1)[0] if message.startswith(("value", "type", "steps")) else "value"
            return InvalidSteering(message, key=key)
        case "IllegalCommand" | "SteeringRefused":
            return NotSteerable(record.simulation_id, record.state.value, f"this request ({message})",
                                "paused (step, reset) or paused or started (steering)")
        case _:
            return GeneralError(f"the experiment kernel refused: {error}")


def _refused(entry: dict, event: Steered | None) -> NrpError:
    if event is None:
        return GeneralError(f"steering request {entry['ticket']} was not applied: the simulation ended first")
    if event.missing:
        return SteeringTargetNotFound(event.error, engine=entry["engine"], datapack=entry["datapack"])
    return InvalidSteering(event.error, key="value")


def _public(entry: dict) -> dict:
    """A ticket as a client reads it: `type` always (null for JSON), the other keys once known."""
    return {key: value for key, value in entry.items() if value is not None or key == "type"}


def _published(entry: dict) -> dict[str, Any]:
    """The steering event every client sees: small, typed, the same on MQTT and /events."""
    return {"ticket": entry["ticket"], "engine": entry["engine"], "datapack": entry["datapack"],
            "value": entry["value"], "type": entry["type"], "simulationTime": entry["simulationTime"],
            "wallTime": entry["wallTime"], "who": entry["who"]}

