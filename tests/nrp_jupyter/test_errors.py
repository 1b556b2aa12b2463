"""The error tree: HTTP status, NRP type and exact message of each error, and NRP's error body."""

import ast
import importlib
from pathlib import Path

import pytest

from engines.errors import ConfigError
from nrp_jupyter.server.errors import (
    ClientError,
    ExperimentNotFound,
    GeneralError,
    InvalidConfig,
    InvalidExperimentId,
    NotOwner,
    NrpError,
    SimulationNotFinal,
    SimulationNotFound,
    StateTransitionError,
    TooManySimulations,
)

# error -> (HTTP status, NRP type, message)
CASES = [
    (ClientError("experimentID not given."), 400, "Client error", "experimentID not given."),
    (StateTransitionError.invalid_state("foobar"), 400, "State Transition error",
     "Invalid state requested: (foobar)"),
    (StateTransitionError.invalid_transition("paused", "completed"), 400, "State Transition error",
     "The state transition is invalid ('paused' -> 'completed')"),
    (StateTransitionError.finalized(), 400, "State Transition error",
     "The state transition is invalid (The simulation requested is finalized)"),
    (SimulationNotFound(7), 404, "Client error", "The simulation with the given ID was not found"),
    (SimulationNotFound(), 404, "Client error", "The simulation with the given ID was not found"),
    (ExperimentNotFound("group/exp"), 404, "Client error",
     "The experiment 'group/exp' was not found in the experiment storage"),
    (InvalidExperimentId("../x", "must not contain '..'"), 400, "Client error",
     "Invalid experiment ID '../x': must not contain '..'"),
    (InvalidConfig("must be greater than 0", file="simulation_config.json",
                   path="EngineConfigs[1].EngineTimestep"), 400, "Client error",
     "Invalid experiment configuration: simulation_config.json: EngineConfigs[1].EngineTimestep: "
     "must be greater than 0"),
    (InvalidConfig("not valid JSON"), 400, "Client error",
     "Invalid experiment configuration: not valid JSON"),
    (SimulationNotFinal.removal(3, "started"), 409, "Client error",
     "The simulation 3 is 'started'; stop it before removing it"),
    (SimulationNotFinal("simulation 3 is started; stop it first"), 409, "Client error",
     "simulation 3 is started; stop it first"),
    (TooManySimulations(), 409, "Client error", "Another simulation is already running on the server"),
    (TooManySimulations(1), 409, "Client error", "Another simulation is already running on the server"),
    (TooManySimulations(4), 409, "Client error", "The maximum of 4 simulations are already running on the server"),
    (NotOwner(), 401, "Client error",
     "Insufficient permissions to apply changes. Operation only allowed by simulation owner"),
    (GeneralError("the kernel did not start"), 500, "General error",
     "Internal server error: the kernel did not start"),
    (GeneralError("Internal server error: already said"), 500, "General error",
     "Internal server error: already said"),
]


@pytest.mark.parametrize(("error", "status", "error_type", "message"), CASES,
                         ids=[f"{type(c[0]).__name__}-{i}" for i, c in enumerate(CASES)])
def test_status_type_message_and_body(error, status, error_type, message):
    assert error.http_status == status
    assert error.error_type == error_type
    assert error.message == message
    assert str(error) == message
    assert error.body() == {"message": message, "type": error_type, "data": None}


def test_body_carries_data():
    assert NrpError("boom", data="details").body() == {"message": "boom", "type": "General error",
                                                       "data": "details"}


def test_the_tree():
    for client_error in (SimulationNotFound, ExperimentNotFound, InvalidExperimentId, InvalidConfig,
                         SimulationNotFinal):
        assert issubclass(client_error, ClientError)
    for error in (ClientError, StateTransitionError, TooManySimulations, NotOwner, GeneralError):
        assert issubclass(error, NrpError)
        assert issubclass(error, Exception)
    assert not issubclass(StateTransitionError, ClientError)


def test_invalid_config_wraps_the_cores_config_error():
    core = ConfigError("is a required property", file="/x/simulation_config.json",
                       path="EngineConfigs[0].EngineName")
    error = InvalidConfig.from_config_error(core)
    assert error.message == ("Invalid experiment configuration: /x/simulation_config.json: "
                             "EngineConfigs[0].EngineName: is a required property")
    assert error.file == "/x/simulation_config.json"
    assert error.path == "EngineConfigs[0].EngineName"
    assert error.reason == "is a required property"
    assert error.http_status == 400


def test_errors_keep_their_subject():
    assert SimulationNotFound(12).simulation_id == 12
    assert ExperimentNotFound("e").experiment_id == "e"
    assert InvalidExperimentId("/etc", "absolute").experiment_id == "/etc"
    assert TooManySimulations(3).maximum == 3


@pytest.mark.parametrize("module", ["errors", "lifecycle", "models", "registry", "storage"])
def test_no_web_framework_below_the_handlers(module):
    # The REST layer maps these errors to HTTP; nothing here may depend on tornado.
    path = Path(importlib.import_module(f"nrp_jupyter.server.{module}").__file__)
    imported = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert "tornado" not in imported
    assert "jupyter_server" not in imported
