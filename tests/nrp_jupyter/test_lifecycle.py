"""Every row of the lifecycle: each state under each trigger, and each state under each REST request."""

import pytest

from nrp_jupyter.server.errors import StateTransitionError
from nrp_jupyter.server.lifecycle import (
    FINAL_STATES,
    RUNNING_STATES,
    SimulationState,
    Transition,
    Trigger,
    next_state,
    requested_transition,
    trigger_for,
)

S = SimulationState
T = Trigger
FINALIZED = "The state transition is invalid (The simulation requested is finalized)"


def invalid(current: str, requested: str) -> str:
    return f"The state transition is invalid ('{current}' -> '{requested}')"


def ok(source, target, trigger):
    return Transition(source, target, trigger, silent=False)


def repeat(state, trigger):
    return Transition(state, state, trigger, silent=True)


# (state, trigger) -> the transition, or the exact error message. 6 x 6 rows, none left out.
NEXT_STATE = {
    (S.CREATED, T.INITIALIZED): ok(S.CREATED, S.PAUSED, T.INITIALIZED),
    (S.CREATED, T.STARTED): invalid("created", "started"),
    (S.CREATED, T.PAUSED): invalid("created", "paused"),
    (S.CREATED, T.COMPLETED): invalid("created", "completed"),
    (S.CREATED, T.STOPPED): ok(S.CREATED, S.STOPPED, T.STOPPED),
    (S.CREATED, T.FAILED): ok(S.CREATED, S.FAILED, T.FAILED),

    (S.PAUSED, T.INITIALIZED): repeat(S.PAUSED, T.INITIALIZED),
    (S.PAUSED, T.STARTED): ok(S.PAUSED, S.STARTED, T.STARTED),
    (S.PAUSED, T.PAUSED): repeat(S.PAUSED, T.PAUSED),
    # The server-only edge: the script ended while the backend said paused.
    (S.PAUSED, T.COMPLETED): ok(S.PAUSED, S.COMPLETED, T.COMPLETED),
    (S.PAUSED, T.STOPPED): ok(S.PAUSED, S.STOPPED, T.STOPPED),
    (S.PAUSED, T.FAILED): ok(S.PAUSED, S.FAILED, T.FAILED),

    (S.STARTED, T.INITIALIZED): invalid("started", "initialized"),
    (S.STARTED, T.STARTED): repeat(S.STARTED, T.STARTED),
    (S.STARTED, T.PAUSED): ok(S.STARTED, S.PAUSED, T.PAUSED),
    (S.STARTED, T.COMPLETED): ok(S.STARTED, S.COMPLETED, T.COMPLETED),
    (S.STARTED, T.STOPPED): ok(S.STARTED, S.STOPPED, T.STOPPED),
    (S.STARTED, T.FAILED): ok(S.STARTED, S.FAILED, T.FAILED),

    (S.COMPLETED, T.INITIALIZED): invalid("completed", "initialized"),
    (S.COMPLETED, T.STARTED): invalid("completed", "started"),
    (S.COMPLETED, T.PAUSED): invalid("completed", "paused"),
    (S.COMPLETED, T.COMPLETED): repeat(S.COMPLETED, T.COMPLETED),
    (S.COMPLETED, T.STOPPED): ok(S.COMPLETED, S.STOPPED, T.STOPPED),
    (S.COMPLETED, T.FAILED): ok(S.COMPLETED, S.FAILED, T.FAILED),

    (S.STOPPED, T.INITIALIZED): FINALIZED,
    (S.STOPPED, T.STARTED): FINALIZED,
    (S.STOPPED, T.PAUSED): FINALIZED,
    (S.STOPPED, T.COMPLETED): FINALIZED,
    (S.STOPPED, T.STOPPED): repeat(S.STOPPED, T.STOPPED),
    (S.STOPPED, T.FAILED): FINALIZED,

    (S.FAILED, T.INITIALIZED): FINALIZED,
    (S.FAILED, T.STARTED): FINALIZED,
    (S.FAILED, T.PAUSED): FINALIZED,
    (S.FAILED, T.COMPLETED): FINALIZED,
    (S.FAILED, T.STOPPED): FINALIZED,
    (S.FAILED, T.FAILED): repeat(S.FAILED, T.FAILED),

    # Ours, requested through POST .../step and .../reset: paused -> paused, never a silent repeat.
    (S.CREATED, T.STEPPED): invalid("created", "stepped"),
    (S.PAUSED, T.STEPPED): ok(S.PAUSED, S.PAUSED, T.STEPPED),
    (S.STARTED, T.STEPPED): invalid("started", "stepped"),
    (S.COMPLETED, T.STEPPED): invalid("completed", "stepped"),
    (S.STOPPED, T.STEPPED): FINALIZED,
    (S.FAILED, T.STEPPED): FINALIZED,
    (S.CREATED, T.RESET): invalid("created", "reset"),
    (S.PAUSED, T.RESET): ok(S.PAUSED, S.PAUSED, T.RESET),
    (S.STARTED, T.RESET): invalid("started", "reset"),
    (S.COMPLETED, T.RESET): invalid("completed", "reset"),
    (S.STOPPED, T.RESET): FINALIZED,
    (S.FAILED, T.RESET): FINALIZED,
}

REQUESTS = ("created", "paused", "started", "completed", "stopped", "failed",
            "initialized", "foobar", "", "Started", " paused")


def not_a_state(requested: str) -> str:
    return f"Invalid state requested: ({requested})"


UNKNOWN = {requested: not_a_state(requested)
           for requested in ("initialized", "foobar", "", "Started", " paused")}

# (state, requested string) -> the transition, or the exact error message. 6 x 11 rows.
REQUESTED = {
    **{(S.CREATED, r): m for r, m in UNKNOWN.items()},
    (S.CREATED, "created"): Transition(S.CREATED, S.CREATED, None, silent=True),
    (S.CREATED, "paused"): invalid("created", "paused"),
    (S.CREATED, "started"): invalid("created", "started"),
    (S.CREATED, "completed"): invalid("created", "completed"),
    (S.CREATED, "stopped"): ok(S.CREATED, S.STOPPED, T.STOPPED),
    (S.CREATED, "failed"): ok(S.CREATED, S.FAILED, T.FAILED),

    **{(S.PAUSED, r): m for r, m in UNKNOWN.items()},
    (S.PAUSED, "created"): invalid("paused", "created"),
    (S.PAUSED, "paused"): repeat(S.PAUSED, T.PAUSED),
    (S.PAUSED, "started"): ok(S.PAUSED, S.STARTED, T.STARTED),
    # REST stays NRP's: only the server may complete a paused simulation.
    (S.PAUSED, "completed"): invalid("paused", "completed"),
    (S.PAUSED, "stopped"): ok(S.PAUSED, S.STOPPED, T.STOPPED),
    (S.PAUSED, "failed"): ok(S.PAUSED, S.FAILED, T.FAILED),

    **{(S.STARTED, r): m for r, m in UNKNOWN.items()},
    (S.STARTED, "created"): invalid("started", "created"),
    (S.STARTED, "paused"): ok(S.STARTED, S.PAUSED, T.PAUSED),
    (S.STARTED, "started"): repeat(S.STARTED, T.STARTED),
    (S.STARTED, "completed"): ok(S.STARTED, S.COMPLETED, T.COMPLETED),
    (S.STARTED, "stopped"): ok(S.STARTED, S.STOPPED, T.STOPPED),
    (S.STARTED, "failed"): ok(S.STARTED, S.FAILED, T.FAILED),

    **{(S.COMPLETED, r): m for r, m in UNKNOWN.items()},
    (S.COMPLETED, "created"): invalid("completed", "created"),
    (S.COMPLETED, "paused"): invalid("completed", "paused"),
    (S.COMPLETED, "started"): invalid("completed", "started"),
    (S.COMPLETED, "completed"): repeat(S.COMPLETED, T.COMPLETED),
    (S.COMPLETED, "stopped"): ok(S.COMPLETED, S.STOPPED, T.STOPPED),
    (S.COMPLETED, "failed"): ok(S.COMPLETED, S.FAILED, T.FAILED),

    # Once final, everything is refused with the same message, a repeat and nonsense included.
    **{(S.STOPPED, r): FINALIZED for r in REQUESTS},
    **{(S.FAILED, r): FINALIZED for r in REQUESTS},
}


def test_tables_cover_every_combination():
    assert set(NEXT_STATE) == {(s, t) for s in S for t in T}
    assert set(REQUESTED) == {(s, r) for s in S for r in REQUESTS}
    assert len(NEXT_STATE) == 48
    assert len(REQUESTED) == 66


@pytest.mark.parametrize(("current", "trigger"), list(NEXT_STATE), ids=lambda v: v.value)
def test_next_state(current, trigger):
    expected = NEXT_STATE[(current, trigger)]
    if isinstance(expected, str):
        with pytest.raises(StateTransitionError) as caught:
            next_state(current, trigger)
        assert caught.value.message == expected
        assert caught.value.http_status == 400
        assert caught.value.error_type == "State Transition error"
    else:
        assert next_state(current, trigger) == expected


@pytest.mark.parametrize(("current", "requested"), list(REQUESTED),
                         ids=[f"{s.value}-{r!r}" for s, r in REQUESTED])
def test_requested_transition(current, requested):
    expected = REQUESTED[(current, requested)]
    if isinstance(expected, str):
        with pytest.raises(StateTransitionError) as caught:
            requested_transition(current, requested)
        assert caught.value.message == expected
        assert caught.value.body() == {"message": expected, "type": "State Transition error", "data": None}
    else:
        assert requested_transition(current, requested) == expected


def test_state_and_trigger_strings_are_nrps():
    assert [s.value for s in S] == ["created", "paused", "started", "completed", "stopped", "failed"]
    assert [t.value for t in T] == ["initialized", "started", "paused", "completed", "stopped", "failed",
                                    "stepped", "reset"]
    # They are strings, so they go into JSON and f-strings as NRP's words.
    assert f"{S.PAUSED}" == "paused"
    assert S("started") is S.STARTED


def test_final_and_running_states():
    assert FINAL_STATES == {S.STOPPED, S.FAILED}
    assert RUNNING_STATES == {S.CREATED, S.PAUSED, S.STARTED, S.COMPLETED}


def test_trigger_for_each_state():
    assert {s: trigger_for(s) for s in S} == {
        S.CREATED: None,
        S.PAUSED: T.PAUSED,
        S.STARTED: T.STARTED,
        S.COMPLETED: T.COMPLETED,
        S.STOPPED: T.STOPPED,
        S.FAILED: T.FAILED,
    }


@pytest.mark.parametrize("state", list(S), ids=lambda v: v.value)
def test_step_and_reset_are_not_requestable_through_put_state(state):
    # NRP's PUT state knows six states; "stepped" and "reset" are none of them.
    for requested in ("stepped", "reset"):
        with pytest.raises(StateTransitionError):
            requested_transition(state, requested)


def test_a_whole_run_through_rest_and_server_events():
    state = S.CREATED
    steps = [
        next_state(state, T.INITIALIZED),
        requested_transition(S.PAUSED, "started"),
        requested_transition(S.STARTED, "paused"),
        requested_transition(S.PAUSED, "started"),
        next_state(S.STARTED, T.COMPLETED),
        requested_transition(S.COMPLETED, "stopped"),
    ]
    for step in steps:
        assert step.source == state
        state = step.target
    assert state == S.STOPPED


def test_transitions_are_immutable():
    transition = next_state(S.PAUSED, T.STARTED)
    with pytest.raises(AttributeError):
        transition.target = S.FAILED  # type: ignore[misc]
