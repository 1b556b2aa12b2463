"""NRP v4's backend lifecycle of a simulation, as one pure state machine (nrp.md §1.4, §1.11).

Every change of a simulation's state goes through `next_state` (a trigger fired by the server, e.g.
on a kernel event) or `requested_transition` (a REST `PUT state`). Both return a `Transition`; a
`silent` one is an idempotent repeat that changes nothing and needs no action.

    created ──initialized──▶ paused ──started──▶ started ──completed──▶ completed
                             paused ◀──paused─── started
                             paused ──completed (server only)──────────▶ completed
    created | paused | started | completed ──stopped──▶ stopped   (final)
    created | paused | started | completed ──failed───▶ failed    (final)
                             paused ──stepped──▶ paused   (POST .../step: N loop steps, then paused again)
                             paused ──reset────▶ paused   (POST .../reset: back to time 0)

Two additions of ours ride on `paused -> paused`: `stepped` and `reset`. They are requested
through routes of their own, never through NRP's `PUT state`, whose table stays NRP's; they are
real transitions (not repeats), published on the lifecycle topic like the others.

One deliberate addition to NRP's table: `completed` from `paused`, which only the server may fire.
The script can end while the backend says paused (it returns between two `nrp.run_loop()` calls, or
the pause reaches the kernel after the script's last step); NRP would leave the two lifecycles
disagreeing, we record the truth. A REST client still cannot request it: REST stays NRP's exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never

from nrp_jupyter.server.errors import StateTransitionError


class SimulationState(StrEnum):
    """The six states NRP's frontends know, with NRP's strings."""

    CREATED = "created"
    """The record exists; the kernel and nrp-core are not initialised yet.
    Allowed: `initialized` (→ paused), `stopped`, `failed`."""

    PAUSED = "paused"
    """Resources are initialised; the script has not started, or is paused between two
    `nrp.run_loop()` calls. Allowed: `started`, `stopped`, `failed`, and the server's `completed`."""

    STARTED = "started"
    """The main script is executing. Allowed: `paused`, `completed`, `stopped`, `failed`."""

    COMPLETED = "completed"
    """The script ended (normally, on timeout or with a runtime error); resources are not freed
    yet and the simulation still counts as running. Allowed: `stopped`, `failed`."""

    STOPPED = "stopped"
    """Final: resources freed and logs archived. Nothing is allowed, not even another stop."""

    FAILED = "failed"
    """Final: a fatal error; `reason` on the record says which. Nothing is allowed."""


FINAL_STATES: frozenset[SimulationState] = frozenset({SimulationState.STOPPED, SimulationState.FAILED})
RUNNING_STATES: frozenset[SimulationState] = frozenset(set(SimulationState) - FINAL_STATES)


class Trigger(StrEnum):
    """The events that move a simulation; all but `initialized` are named after their target."""

    INITIALIZED = "initialized"
    STARTED = "started"
    PAUSED = "paused"
    COMPLETED = "completed"
    STOPPED = "stopped"
    FAILED = "failed"
    STEPPED = "stepped"
    """A paused simulation ran the steps a client asked for and is paused again."""
    RESET = "reset"
    """A paused simulation went back to time 0 (engines reset, functions reloaded), still paused."""


@dataclass(frozen=True)
class Transition:
    """One step of the lifecycle. `trigger` is None only for a REST repeat of `created`, which no
    trigger names; such a repeat, like every `silent` transition, has `source == target`."""

    source: SimulationState
    target: SimulationState
    trigger: Trigger | None
    silent: bool = False


@dataclass(frozen=True)
class Edge:
    """A row of the transitions table: `trigger` moves each of `sources` to `target`."""

    trigger: Trigger
    sources: frozenset[SimulationState]
    target: SimulationState
    # False for the one edge the server fires itself and a REST client may not request.
    requestable: bool = True


_S = SimulationState

# The transitions table. Self-transitions (target -> target under the same trigger) are added below.
TRANSITIONS: tuple[Edge, ...] = (
    Edge(Trigger.INITIALIZED, frozenset({_S.CREATED}), _S.PAUSED),
    Edge(Trigger.STARTED, frozenset({_S.PAUSED}), _S.STARTED),
    Edge(Trigger.PAUSED, frozenset({_S.STARTED}), _S.PAUSED),
    Edge(Trigger.COMPLETED, frozenset({_S.STARTED}), _S.COMPLETED),
    Edge(Trigger.COMPLETED, frozenset({_S.PAUSED}), _S.COMPLETED, requestable=False),
    Edge(Trigger.STOPPED, RUNNING_STATES, _S.STOPPED),
    Edge(Trigger.FAILED, RUNNING_STATES, _S.FAILED),
    Edge(Trigger.STEPPED, frozenset({_S.PAUSED}), _S.PAUSED, requestable=False),
    Edge(Trigger.RESET, frozenset({_S.PAUSED}), _S.PAUSED, requestable=False),
)


def _index(edges: tuple[Edge, ...]) -> Mapping[tuple[SimulationState, Trigger], Transition]:
    """(state, trigger) -> transition, repeats included."""
    table: dict[tuple[SimulationState, Trigger], Transition] = {}
    for edge in edges:
        for source in edge.sources:
            table[(source, edge.trigger)] = Transition(source, edge.target, edge.trigger)
        # NRP adds an idempotent repeat for every transition: firing it again is a no-op. Not for
        # our paused -> paused edges, where the repeat is the transition itself (each step counts).
        table.setdefault((edge.target, edge.trigger), Transition(edge.target, edge.target, edge.trigger,
                                                                 silent=True))
    return table


_TABLE = _index(TRANSITIONS)
_SERVER_ONLY = frozenset((source, edge.trigger) for edge in TRANSITIONS if not edge.requestable
                         for source in edge.sources)


def next_state(current: SimulationState, trigger: Trigger) -> Transition:
    """The transition `trigger` causes from `current`, for the server's own events.

    Raises `StateTransitionError` with NRP's messages: "finalized" for anything but a repeat once
    the simulation is stopped or failed, "('<current>' -> '<trigger>')" otherwise.
    """
    transition = _TABLE.get((current, trigger))
    if transition is not None:
        return transition
    if current in FINAL_STATES:
        raise StateTransitionError.finalized()
    raise StateTransitionError.invalid_transition(current.value, trigger.value)


def trigger_for(state: SimulationState) -> Trigger | None:
    """The trigger a REST request for `state` fires; `created` has none (nothing leads back to it)."""
    match state:
        case SimulationState.CREATED:
            return None
        case SimulationState.PAUSED:
            return Trigger.PAUSED
        case SimulationState.STARTED:
            return Trigger.STARTED
        case SimulationState.COMPLETED:
            return Trigger.COMPLETED
        case SimulationState.STOPPED:
            return Trigger.STOPPED
        case SimulationState.FAILED:
            return Trigger.FAILED
        case _:
            assert_never(state)


def requested_action(current: SimulationState, trigger: Trigger) -> Transition:
    """The transition a REST request of ours (`stepped`, `reset`) asks for from `current`; raises
    StateTransitionError as `next_state` does ("finalized", or "('<current>' -> '<trigger>')")."""
    return next_state(current, trigger)


def requested_transition(current: SimulationState, requested: str) -> Transition:
    """The transition a REST `PUT state {"state": requested}` asks for, checked the way NRP does.

    In this order: a final simulation refuses everything (a repeated `stopped` too); a string
    that is not one of the six states is invalid; the current state again is a silent repeat;
    then the table decides, without the server-only `paused -> completed`.
    """
    if current in FINAL_STATES:
        raise StateTransitionError.finalized()
    try:
        target = SimulationState(requested)
    except ValueError:
        raise StateTransitionError.invalid_state(requested) from None
    trigger = trigger_for(target)
    if target == current:
        return Transition(current, current, trigger, silent=True)
    if trigger is None or (current, trigger) in _SERVER_ONLY:
        raise StateTransitionError.invalid_transition(current.value, target.value)
    transition = _TABLE.get((current, trigger))
    if transition is None:
        raise StateTransitionError.invalid_transition(current.value, target.value)
    return transition
