"""Sixteen runs through a server that allows four at once: the client queues the rest
(`wait_for_slot`), every run completes with its own result, and the server never has more than
four active simulations (observed from outside, on REST, the whole time)."""

import statistics
import threading
import time
import zipfile

import pytest

from nrp_jupyter.notebook.client import Conflict, Connection, NoFreeSlot, launch, run_all
from tests.scale.conftest import MAX_SIMULATIONS, RUNS_UNTIL_STOPPED

RUNS = 16
# tf_exchange's SimulationTimeout, and the line engine 2 prints at its last step: read from the
# run's own archived log, it proves that this simulation's engines really stepped to the end.
TIMEOUT_S = 1.0
LAST_STEP_LINE = "python_2 at 1000000000 ns received {'time': 990000000"


class ActiveCounter:
    """Samples `GET /simulation` on a thread of its own and keeps the most non-final simulations
    seen at once (created, paused, started and completed all hold a slot)."""

    def __init__(self, server):
        self._connection = Connection(server.url, server.token)
        self._stopping = threading.Event()
        self.samples = 0
        self.most = 0
        self._thread = threading.Thread(target=self._sample, name="active-counter", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stopping.set()
        self._thread.join(10)
        self._connection.close()

    def _sample(self):
        while not self._stopping.is_set():
            records = self._connection.simulations()
            active = sum(1 for record in records if record["state"] not in ("stopped", "failed"))
            self.most = max(self.most, active)
            self.samples += 1
            self._stopping.wait(0.05)


def archived_log(server, simulation_id: int) -> str:
    """The text of simulation `simulation_id`'s archived logs in tf_exchange's folder."""
    [archive] = (server.root / "experiments" / "tf_exchange").glob(f"*_simulation_{simulation_id}.log.zip")
    with zipfile.ZipFile(archive) as opened:
        return "\n".join(opened.read(name).decode() for name in opened.namelist())


@pytest.mark.timeout(240)
def test_sixteen_runs_queue_through_a_maximum_of_four(scale_server):
    server = scale_server
    started = time.monotonic()
    with ActiveCounter(server) as counter, Connection(server.url, server.token) as connection:
        runs = run_all(["tf_exchange"] * RUNS, connection=connection, wait_for_slot=180, timeout=120)
    wall = time.monotonic() - started
    print(f"\n{RUNS} runs of tf_exchange through max_simulations={MAX_SIMULATIONS}: {wall:.1f} s wall, "
          f"at most {counter.most} active in {counter.samples} samples, "
          f"real time per run median {statistics.median(run.status['realTime'] for run in runs):.2f} s")
    assert [run.error for run in runs if not run.ok] == []
    ids = [run.simulation_id for run in runs]
    assert len(set(ids)) == RUNS
    for run in runs:
        assert run.state == "completed" and run.status["simulationTime"] == pytest.approx(TIMEOUT_S)
        assert LAST_STEP_LINE in archived_log(server, run.simulation_id), run.simulation_id
    # The limit held, and was reached: the sixteen really ran four at a time.
    assert counter.most == MAX_SIMULATIONS
    records = {record["simulationID"]: record["state"] for record in connection_records(server)}
    assert {records[simulation_id] for simulation_id in ids} == {"stopped"}


def connection_records(server) -> list[dict]:
    code, records = server.call("GET", "simulation")
    assert code == 200, records
    return records


@pytest.mark.timeout(120)
def test_a_queued_launch_names_the_limit_when_no_slot_frees_and_goes_ahead_when_one_does(scale_server):
    server = scale_server
    own = Connection(server.url, server.token)
    with Connection(server.url, server.token) as connection:
        holding = [launch(RUNS_UNTIL_STOPPED, connection=connection) for _ in range(MAX_SIMULATIONS)]
        # Without wait_for_slot the refusal is NRP's 409, at once.
        with pytest.raises(Conflict):
            launch("tf_exchange", connection=connection)
        began = time.monotonic()
        with pytest.raises(NoFreeSlot) as refused:
            launch("tf_exchange", connection=connection, wait_for_slot=1.5)
        assert time.monotonic() - began >= 1.5
        assert f"maximum of {MAX_SIMULATIONS} simulations" in refused.value.message
        assert "within 1.5 s" in refused.value.message

        outcome = {}

        def queued():
            try:
                outcome["simulation"] = launch("tf_exchange", connection=own, wait_for_slot=60)
            except Exception as error:  # noqa: BLE001 (reported by the assertion below)
                outcome["error"] = error

        waiter = threading.Thread(target=queued)
        waiter.start()
        # Still queued: every attempt so far was refused (the first one happens right away).
        waiter.join(1.0)
        assert waiter.is_alive(), outcome
        assert holding[0].stop() == "stopped"
        waiter.join(30)
        try:
            assert not waiter.is_alive() and "error" not in outcome, outcome
            simulation = outcome["simulation"]
            assert simulation.id > max(held.id for held in holding) and simulation.state == "paused"
        finally:
            own.close()


def test_bad_sweep_arguments_are_refused_with_the_key():
    with pytest.raises(ValueError, match="unknown key.*'scrpit'"):
        run_all([{"experiment": "tf_exchange", "scrpit": "x.py"}],
                connection=Connection("http://127.0.0.1:9/"))
    with pytest.raises(ValueError, match="wait_for_slot"):
        launch("tf_exchange", connection=Connection("http://127.0.0.1:9/"), wait_for_slot=-1)
    assert run_all([], connection=Connection("http://127.0.0.1:9/")) == []
