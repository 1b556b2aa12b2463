"""NrpCoreWrapper against a real NRPCoreSim: timekeeping, pause, stop and what scripts may call."""

import threading
import time

import pytest

from kernel_ext.errors import NRPSimulationTimeout, NRPStopExecution
from kernel_ext.wrapper import TIMEOUT_MESSAGE, NrpCoreWrapper
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


class LoopThread:
    """Runs `nrp.run_loop(n)` in a loop on a thread, as a main script does, and records how it ended."""

    def __init__(self, nrp, iterations=1, repeat=True):
        self.nrp = nrp
        self.error = None
        self._iterations = iterations
        self._repeat = repeat
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            while True:
                self.nrp.run_loop(self._iterations)
                if not self._repeat:
                    return
        except Exception as err:  # noqa: BLE001 -- recorded for the test to assert on
            self.error = err


def started(nrp):
    nrp._resume()
    return nrp


# -- arithmetic that needs no simulation ------------------------------------------------------------

@pytest.mark.parametrize(("config", "max_timesteps", "timestep"), [
    ({"SimulationTimeout": 1, "SimulationTimestep": 0.01}, 100, 0.01),
    ({"SimulationTimeout": 2}, 200, 0.01),  # the backend's default timestep
    ({"SimulationTimeout": 1, "SimulationTimestep": 0.25}, 4, 0.25),
    ({"SimulationTimestep": 0.01}, 0, 0.01),  # no timeout: no step allowed
    ({}, 0, 0.01),
])
def test_max_timesteps_follows_the_config_as_nrp_computes_it(config, max_timesteps, timestep):
    nrp = NrpCoreWrapper(None, config)
    assert (nrp.max_timesteps, nrp.timestep, nrp.timesteps_count) == (max_timesteps, timestep, 0)
    assert nrp.simulation_time_remaining == pytest.approx(max_timesteps * timestep)


@pytest.mark.timeout(10)
def test_without_a_timeout_the_first_run_loop_raises_the_timeout():
    nrp = started(NrpCoreWrapper(None, {"SimulationTimestep": 0.01}))
    with pytest.raises(NRPSimulationTimeout, match=TIMEOUT_MESSAGE):
        nrp.run_loop()


# -- against NRPCoreSim ------------------------------------------------------------------------------

def test_a_run_that_would_pass_the_timeout_raises_and_runs_nothing(start_core):
    core, config = start_core(timeout=1, timestep=0.01)
    nrp = started(NrpCoreWrapper(core, config))
    nrp.run_loop(98)
    assert nrp.timesteps_count == 98
    real_time = nrp.real_time
    with pytest.raises(NRPSimulationTimeout, match=TIMEOUT_MESSAGE):
        nrp.run_loop(3)
    # Nothing was forwarded: no time was spent in NrpCore and the count did not move.
    assert (nrp.timesteps_count, nrp.real_time) == (98, real_time)
    nrp.run_loop(2)
    assert nrp.timesteps_count == 100
    assert nrp.simulation_time == pytest.approx(1.0)
    assert nrp.simulation_time_remaining == pytest.approx(0.0)
    with pytest.raises(NRPSimulationTimeout):
        nrp.run_loop()


def test_run_loop_returns_the_clients_result_and_keeps_simulation_time_plus_time_left_constant(start_core):
    core, config = start_core(timeout=1, timestep=0.01)
    nrp = started(NrpCoreWrapper(core, config))
    totals = set()
    for _ in range(5):
        done, trajectory = nrp.run_loop(7)
        assert (done, trajectory) == (False, [])
        totals.add(round(nrp.simulation_time + nrp.simulation_time_remaining, 9))
    assert totals == {1.0}
    assert nrp.simulation_time == pytest.approx(0.35)


def test_pause_blocks_the_next_run_loop_and_resume_continues(start_core):
    core, config = start_core(timeout=1000)
    nrp = started(NrpCoreWrapper(core, config))
    loop = LoopThread(nrp)
    eventually(lambda: nrp.timesteps_count > 20, 5, "the loop runs")
    nrp._pause()
    eventually(lambda: nrp.held, 5, "the loop's next run_loop waits for resume")
    frozen = nrp.timesteps_count
    assert not nrp.in_flight and loop.thread.is_alive()
    # Pause holds: the loop is blocked waiting for resume, so no step can run until then.
    assert nrp.held and nrp.timesteps_count == frozen
    nrp._resume()
    eventually(lambda: nrp.timesteps_count > frozen + 20, 5, "the loop continues after resume")
    nrp._stop_execution(5)
    loop.thread.join(2)
    assert isinstance(loop.error, NRPStopExecution)


def test_a_step_lets_exactly_n_steps_through_one_long_run_loop_then_holds_it_again(start_core):
    core, config = start_core(timeout=1000)
    nrp = NrpCoreWrapper(core, config)  # paused, as a new simulation is
    loop = LoopThread(nrp, iterations=10, repeat=False)
    eventually(lambda: nrp.held, 5, "the script waits in its paused run_loop(10)")
    stepped = []
    nrp._step(3, stepped.append)
    eventually(lambda: stepped == [3], 5, "the step's callback")
    eventually(lambda: nrp.held, 5, "the script held again, inside the same call")
    assert nrp.timesteps_count == 3 and not nrp.stepping and loop.thread.is_alive()
    nrp._step(1, stepped.append)
    eventually(lambda: stepped == [3, 1], 5, "the second step's callback")
    nrp._step(6, stepped.append)  # exactly what the call has left: it returns
    loop.thread.join(5)
    assert stepped == [3, 1, 6] and nrp.timesteps_count == 10 and loop.error is None
    nrp._reset_time()
    assert (nrp.timesteps_count, nrp.simulation_time, nrp.real_time) == (0, 0.0, 0.0)


def test_resume_ends_a_step_early_and_tells_the_steps_that_ran(start_core):
    core, config = start_core(timeout=1000)
    nrp = NrpCoreWrapper(core, config)
    loop = LoopThread(nrp)
    eventually(lambda: nrp.held, 5, "the script waits in its paused run_loop")
    stepped = []
    nrp._step(100_000, stepped.append)
    with pytest.raises(RuntimeError, match="in progress"):
        nrp._step(1, stepped.append)
    eventually(lambda: nrp.timesteps_count > 3, 5, "steps under way")
    nrp._resume()
    eventually(lambda: stepped, 5, "the callback")
    assert 3 <= stepped[0] <= nrp.timesteps_count and not nrp.stepping
    with pytest.raises(RuntimeError, match="not paused"):
        nrp._step(1, stepped.append)
    nrp._stop_execution(5)
    loop.thread.join(2)


def test_stop_while_paused_releases_the_script_at_once(start_core):
    core, config = start_core(timeout=1000)
    nrp = NrpCoreWrapper(core, config)  # paused from the start, as a new simulation is
    loop = LoopThread(nrp)
    eventually(lambda: nrp.held, 5, "the first run_loop waits for resume")
    assert loop.thread.is_alive() and nrp.timesteps_count == 0
    # Nothing is in flight, so stop has no run to interrupt: releasing the pause ends the script.
    assert not nrp.in_flight
    assert nrp._stop_execution(5)
    loop.thread.join(2)
    assert not loop.thread.is_alive()
    assert isinstance(loop.error, NRPStopExecution)
    assert nrp.timesteps_count == 0


def test_stop_cuts_a_long_run_loop_short(start_core):
    core, config = start_core(timeout=10000)
    nrp = started(NrpCoreWrapper(core, config))
    loop = LoopThread(nrp, iterations=100000, repeat=False)
    eventually(lambda: nrp.in_flight, 5, "run_loop(100000) is forwarded")
    eventually(lambda: nrp.real_time > 0.3, 5, "the run has been under way a while")
    # True: the run returned within the 5 s given, long before its 100000 steps were done.
    assert nrp._stop_execution(5)
    loop.thread.join(5)
    assert not loop.thread.is_alive()
    assert isinstance(loop.error, NRPStopExecution)
    assert nrp.timesteps_count == 0  # an interrupted run is not counted
    # NRPCoreSim ended the run and takes requests again.
    assert core.current_state() in ("Stopped", "Running")
    core.run_loop(1)
    assert core.current_state() == "Stopped"


def test_stop_requested_just_before_a_run_is_forwarded_still_interrupts_it(start_core):
    # stopLoop sent before NRPCoreSim begins executing the runLoop is cleared when the run begins;
    # the wrapper repeats it until the run returns.
    core, config = start_core(timeout=10000)
    nrp = started(NrpCoreWrapper(core, config))
    loop = LoopThread(nrp, iterations=100000, repeat=False)
    eventually(lambda: nrp.in_flight, 5, "run_loop(100000) is forwarded")
    assert nrp._stop_execution(5)  # the run returned
    loop.thread.join(5)
    assert not loop.thread.is_alive()
    assert isinstance(loop.error, NRPStopExecution)


def test_real_time_counts_only_time_inside_run_loop(start_core):
    core, config = start_core(timeout=10000)
    nrp = started(NrpCoreWrapper(core, config))
    assert nrp.real_time == 0.0
    started_at = time.perf_counter()
    nrp.run_loop(50)
    wall = time.perf_counter() - started_at
    after_run = nrp.real_time
    assert 0 < after_run <= wall

    nrp._pause()
    loop = LoopThread(nrp)
    eventually(lambda: nrp.held, 5, "the next run_loop waits for resume")
    # Neither the time between calls nor the time blocked in pause counts.
    assert nrp.real_time == after_run
    nrp._resume()
    eventually(lambda: nrp.timesteps_count > 100, 5, "the loop runs")
    nrp._stop_execution(5)
    loop.thread.join(2)

    # While a run is in flight, its time so far counts.
    nrp = started(NrpCoreWrapper(core, config))
    before_run = time.perf_counter()
    loop = LoopThread(nrp, iterations=100000, repeat=False)
    eventually(lambda: nrp.in_flight, 5, "a long run is forwarded")
    first = nrp.real_time
    second = eventually(lambda: nrp.real_time > first and nrp.real_time, 5, "real time grows during the run")
    assert 0 <= first < second <= time.perf_counter() - before_run
    nrp._stop_execution(5)
    loop.thread.join(5)


def test_other_attributes_are_the_clients_and_lifecycle_methods_are_refused(start_core):
    core, config = start_core(timeout=1)
    nrp = started(NrpCoreWrapper(core, config))
    assert nrp.current_state() == "Initialized"
    nrp.set_json_datapack("rec_datapack2", "python_2", {"from": "script"})
    assert len(core._json_datapack_out_buffer) == 1
    nrp.run_loop()
    assert nrp.current_state() == "Stopped"
    assert core._json_datapack_out_buffer == []
    assert nrp.unpack_thread_results == core.unpack_thread_results
    for name in ("initialize", "shutdown", "reset", "stop"):
        with pytest.raises(NotImplementedError):
            getattr(nrp, name)()
    with pytest.raises(AttributeError):
        nrp.no_such_method  # noqa: B018
    with pytest.raises(TypeError, match="set_json_datapack"):
        nrp.run_loop(1, {"a": 1})
    assert core.current_state() == "Stopped"  # none of these reached NRPCoreSim
