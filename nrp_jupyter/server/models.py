"""The simulation record and the REST request bodies, with NRP's JSON names (nrp.md §1.3).

`Simulation` is what the registry stores; `to_nrp_json()` is exactly NRP's Simulation JSON, which
frontends read, and `describe()` adds what only this extension's clients use. `LaunchRequest` and
`StateRequest` parse REST bodies and raise `ClientError`s with NRP's texts; `SteerRequest` and
`StepRequest` parse the bodies of our steering and step routes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from nrp_jupyter.server.errors import ClientError, InvalidExperimentId, InvalidSteering, StateTransitionError, shown
from nrp_jupyter.server.lifecycle import SimulationState, Transition
from nrp_jupyter.server.limits import decode_body
from nrp_jupyter.server.storage import relative_path_problem

# NRP stamps creation dates in Zurich time; frontends display them as they come.
NRP_TIMEZONE = ZoneInfo("Europe/Zurich")
DEFAULT_CONFIGURATION = "simulation_config.json"
DEFAULT_MAIN_SCRIPT = "main_script.py"
# NRP's owner when neither X-User-Name nor a token names one.
DEFAULT_OWNER = "default-owner"


def now_iso() -> str:
    """The current time as NRP writes it: ISO-8601 with the Europe/Zurich offset."""
    return datetime.now(NRP_TIMEZONE).isoformat()


@dataclass(kw_only=True)
class Simulation:
    """One simulation, from launch until its record is deleted.

    The fields up to `state` are NRP's; the rest are the server's own bookkeeping. `state` changes
    only through `apply`, with a transition from `nrp_jupyter.server.lifecycle`.
    """

    simulation_id: int
    experiment_id: str
    experiment_configuration: str = DEFAULT_CONFIGURATION
    main_script: str = DEFAULT_MAIN_SCRIPT
    owner: str = DEFAULT_OWNER
    creation_date: str = field(default_factory=now_iso)
    ctx_id: str | None = None
    mqtt_prefix: str = ""
    state: SimulationState = SimulationState.CREATED

    kernel_id: str | None = None
    simulation_dir: str | None = None
    # Kept after the simulation ends so that a restarted server can end a leftover NRPCoreSim.
    nrpcoresim_pid: int | None = None
    runtime_error: dict[str, Any] | None = None
    """The last runtime_error payload (NRP's fields), for clients that missed it on MQTT."""
    reason: str | None = None
    """Why the simulation failed, in words for the user."""
    last_status: dict[str, Any] | None = None
    """The last status payload (realTime, simulationTime, state, simulationTimeLeft)."""
    updated_at: str = field(default_factory=now_iso)

    def apply(self, transition: Transition) -> None:
        """Move to `transition.target`; the transition must start from the current state."""
        if transition.source != self.state:
            raise StateTransitionError.invalid_transition(self.state.value, transition.target.value)
        if not transition.silent:
            self.state = transition.target
            self.updated_at = now_iso()

    def to_nrp_json(self) -> dict[str, Any]:
        """NRP's Simulation JSON, key for key."""
        return {
            "state": self.state.value,
            "simulationID": self.simulation_id,
            "experimentConfiguration": self.experiment_configuration,
            "mainScript": self.main_script,
            "owner": self.owner,
            "creationDate": self.creation_date,
            "experimentID": self.experiment_id,
            "ctxId": self.ctx_id,
            "MQTTPrefix": self.mqtt_prefix,
        }

    def describe(self) -> dict[str, Any]:
        """NRP's JSON plus the last runtime error, the failure reason and the last status."""
        return {
            **self.to_nrp_json(),
            "runtimeError": self.runtime_error,
            "reason": self.reason,
            "status": self.last_status,
        }


@dataclass(frozen=True, kw_only=True)
class LaunchRequest:
    """The body of `POST /simulation`.

    `state` may only be "created" (the frontend sends it); `private` is accepted and ignored, as
    NRP ignores it. The owner never comes from the body.
    """

    experiment_id: str
    experiment_configuration: str = DEFAULT_CONFIGURATION
    main_script: str = DEFAULT_MAIN_SCRIPT
    ctx_id: str | None = None

    @classmethod
    def from_body(cls, body: object) -> LaunchRequest:
        """Parse a decoded JSON body (or raw JSON bytes/text); raises `ClientError`s."""
        fields = _json_object(body)
        experiment_id = fields.get("experimentID")
        if not isinstance(experiment_id, str) or not experiment_id:
            raise ClientError("experimentID not given.")
        problem = relative_path_problem(experiment_id)
        if problem is not None:
            raise InvalidExperimentId(experiment_id, problem)
        state = fields.get("state")
        if state is not None and state != SimulationState.CREATED.value:
            raise ClientError(f"Invalid initial state requested: ({state}); "
                              f"a simulation is launched in state 'created'")
        ctx_id = fields.get("ctxId")
        if ctx_id is not None and not isinstance(ctx_id, str):
            raise ClientError(f"ctxId must be a string, not {_json_type(ctx_id)}")
        return cls(
            experiment_id=experiment_id,
            experiment_configuration=_file_name(fields, "experimentConfiguration", DEFAULT_CONFIGURATION),
            main_script=_file_name(fields, "mainScript", DEFAULT_MAIN_SCRIPT),
            ctx_id=ctx_id,
        )


@dataclass(frozen=True)
class StateRequest:
    """The body of `PUT /simulation/<id>/state`: the requested state, checked by the lifecycle."""

    state: str

    @classmethod
    def from_body(cls, body: object) -> StateRequest:
        """Parse a decoded JSON body (or raw JSON bytes/text); raises `ClientError`s."""
        fields = _json_object(body)
        state = fields.get("state")
        if state is None:
            raise ClientError("state not given.")
        if not isinstance(state, str):
            # NRP checks the value against its state names, so a number is an invalid state.
            raise StateTransitionError.invalid_state(json.dumps(state))
        return cls(state)


#: More steps than this in one request is a mistake (a simulation with a 1 ms step runs 1000 s of it).
MAX_STEPS = 1_000_000


@dataclass(frozen=True)
class SteerRequest:
    """The body of `PUT .../datapacks/<engine>/<datapack>`: `{"value": <JSON>}` for a JSON datapack,
    `{"type": "<protobuf full name>", "value": {<protobuf's JSON mapping>}}` for a protobuf one."""

    value: Any
    type: str | None = None

    KEYS = ("value", "type")

    @classmethod
    def from_body(cls, body: object) -> SteerRequest:
        fields = _json_object(body)
        unknown = sorted(set(fields) - set(cls.KEYS))
        if unknown:
            raise InvalidSteering(f"{unknown[0]}: not a key of a steering request (the keys are 'value' "
                                  f"and, for a protobuf datapack, 'type')", key=unknown[0])
        if "value" not in fields:
            raise InvalidSteering("value: not given; the body is {\"value\": <the datapack's JSON>} "
                                  "(and \"type\" for a protobuf datapack)", key="value")
        type_name = fields.get("type")
        if type_name is not None and (not isinstance(type_name, str) or not type_name):
            raise InvalidSteering(f"type: a protobuf message's full name (e.g. \"Wrappers.DoubleValue\"), not "
                                  f"{_json_type(type_name)}", key="type")
        if type_name is not None and not isinstance(fields["value"], dict):
            raise InvalidSteering(f"value: a protobuf datapack's value is an object (protobuf's JSON mapping "
                                  f"of a {type_name}), not {_json_type(fields['value'])}", key="value")
        return cls(fields["value"], type_name)


@dataclass(frozen=True)
class StepRequest:
    """The body of `POST .../step`: `{"steps": N}`, N loop steps (1 if the body is empty)."""

    steps: int = 1

    @classmethod
    def from_body(cls, body: object) -> StepRequest:
        if isinstance(body, (bytes, bytearray, str)) and not body.strip():
            return cls()
        fields = _json_object(body)
        unknown = sorted(set(fields) - {"steps"})
        if unknown:
            raise InvalidSteering(f"{unknown[0]}: not a key of a step request (the key is 'steps')", key=unknown[0])
        steps = fields.get("steps", 1)
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
            raise InvalidSteering(f"steps: a whole number of loop steps from 1 to {MAX_STEPS}, not {shown(steps)}",
                                  key="steps")
        return cls(steps)


def _json_object(body: object) -> dict[str, Any]:
    if isinstance(body, (bytes, bytearray, str)):
        body = decode_body(body)
    if not isinstance(body, dict):
        raise ClientError(f"The request body must be a JSON object, not {_json_type(body)}")
    return body


def _file_name(fields: dict[str, Any], key: str, default: str) -> str:
    """A file name inside the experiment; None or absent gives the default."""
    value = fields.get(key)
    if value is None:
        return default
    problem = relative_path_problem(value)
    if problem is not None:
        raise ClientError(f"{key} {shown(value)} is not a file inside the experiment: it {problem}")
    return value


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    match value:
        case None:
            return "null"
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "an object"
        case _:
            return type(value).__name__
