"""Simulation and launch against a real server, real kernels and real engines."""

import pytest

from nrp_jupyter.notebook.client import (BadRequest, NotFound, Simulation, SimulationEnded,
                                         StateTransitionError, WaitTimeout, launch, simulations)
from tests.notebook.client import experiments

pytestmark = pytest.mark.timeout(120)


def test_tf_exchange_runs_to_completion(connection):
    simulation = launch("tf_exchange", connection=connection)
    assert simulation.state == "paused"
    info = simulation.info()
    assert (info["simulationID"], info["experimentID"]) == (simulation.id, "tf_exchange")
    assert info["experimentConfiguration"] == "simulation_config.json"
    assert info["mainScript"] == "main_script.py"
    assert simulation in simulations(connection)
    assert simulation.start() == "started"
    assert simulation.wait_until("completed", timeout=60) == "completed"
    logs = simulation.logs()
    assert f"==> main_script_{simulation.id}.log <==" in logs
    assert "NRPSimulationTimeout reached in script" in logs  # what tf_exchange's main script logs
    assert simulation.stop() == "stopped"
    assert simulation.state == "stopped"
    # From the archive in the experiment's folder now.
    assert "NRPSimulationTimeout reached in script" in simulation.logs()


def test_pause_resume_stop(connection):
    simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
    assert simulation.start() == "started"
    assert simulation.pause() == "paused"
    assert simulation.state == "paused"
    assert simulation.resume() == "started"
    assert simulation.wait_until({"started", "paused"}, timeout=5) == "started"
    assert simulation.stop() == "stopped"


def test_illegal_transition_carries_nrps_body(connection):
    simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
    simulation.stop()
    with pytest.raises(StateTransitionError) as caught:
        simulation.start()
    error = caught.value
    assert (error.status, error.type) == (400, "State Transition error")
    assert error.message == "The state transition is invalid (The simulation requested is finalized)"
    assert isinstance(error, BadRequest)


def test_paused_to_completed_is_refused(connection):
    simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
    with pytest.raises(StateTransitionError, match=r"\('paused' -> 'completed'\)"):
        simulation._request_state("completed")
    simulation.stop()


def test_unknown_simulation_id(connection):
    ghost = Simulation(connection, 987654)
    calls = (lambda: ghost.state, ghost.info, ghost.start, ghost.pause, ghost.resume, ghost.stop, ghost.logs)
    for call in calls:
        with pytest.raises(NotFound, match="The simulation with the given ID was not found"):
            call()


def test_launch_with_another_config_and_script(connection):
    simulation = launch(experiments.WITH_OTHER_SCRIPT, connection=connection,
                        config="simulation_config_grpc.json", script=experiments.OTHER_SCRIPT)
    info = simulation.info()
    assert (info["experimentConfiguration"], info["mainScript"]) == ("simulation_config_grpc.json",
                                                                     experiments.OTHER_SCRIPT)
    simulation.start()
    simulation.wait_until("completed", timeout=60)
    assert experiments.OTHER_SCRIPT_MARKER in simulation.logs()
    simulation.stop()


@pytest.mark.parametrize(("kwargs", "named"), [({"config": "missing_config.json"}, "missing_config.json"),
                                               ({"script": "missing_script.py"}, "missing_script.py")])
def test_launch_with_a_missing_file_names_it(connection, kwargs, named):
    with pytest.raises(BadRequest, match=named):
        launch("tf_exchange", connection=connection, **kwargs)


def test_launch_of_an_unknown_experiment(connection):
    with pytest.raises(NotFound, match="no_such_experiment"):
        launch("no_such_experiment", connection=connection)


@pytest.mark.parametrize("bad", ["", None, 3])
def test_launch_needs_an_experiment_name(connection, bad):
    with pytest.raises(ValueError, match="experiment id"):
        launch(bad, connection=connection)


def test_wait_until_times_out_with_the_last_state(connection):
    simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
    with pytest.raises(WaitTimeout) as caught:
        simulation.wait_until("completed", timeout=0.5)
    assert caught.value.state == "paused"
    assert "still paused" in str(caught.value)
    simulation.stop()


def test_wait_until_gives_up_on_a_final_state(connection):
    simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
    simulation.stop()
    with pytest.raises(SimulationEnded, match="stopped and will never be completed") as caught:
        simulation.wait_until("completed", timeout=30)
    assert caught.value.state == "stopped"


def test_wait_until_refuses_unknown_states(connection):
    with pytest.raises(ValueError, match="'complete'"):
        Simulation(connection, 0).wait_until("complete", timeout=1)


@pytest.mark.timeout(120)
def test_details_add_the_last_runtime_error_to_nrps_json(connection):
    simulation = launch(experiments.RAISES, connection=connection)
    try:
        before = simulation.details()
        assert before["runtimeError"] is None and {k: before[k] for k in simulation.info()} == simulation.info()
        simulation.start()
        simulation.wait_until("completed", timeout=60)
        error = simulation.details()["runtimeError"]
        assert error["error_type"] == "Runtime" and error["line_number"] == experiments.RAISING_LINE
        assert "the controller diverged" in error["msg"]
    finally:
        simulation.stop()
