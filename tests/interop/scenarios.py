"""Client scenarios run identically by our NrpCore (in the test process) and by nrp-client 1.4.0.

Each scenario takes an `NrpCore` class and a `Target` and returns JSON-able results, so that the
real client can run it in its own venv (real_client_driver.py) and print them. This module may use
only the standard library, protobuf and whichever `nrp_protobuf` the interpreter has.
"""

from __future__ import annotations

import dataclasses
import time

from google.protobuf.message import Message
from nrp_protobuf import wrappers_pb2


@dataclasses.dataclass(frozen=True)
class Target:
    address: str
    experiment_folder: str
    config_file: str = "simulation_config.json"


def encode(value):
    """JSON-able form of a client's return value; proto messages become {"proto": type, "fields": ...}."""
    if isinstance(value, Message):
        return {"proto": value.DESCRIPTOR.full_name,
                "fields": {field.name: _scalar(getattr(value, field.name)) for field in value.DESCRIPTOR.fields}}
    if isinstance(value, (list, tuple)):
        return [encode(item) for item in value]
    if isinstance(value, dict):
        return {key: encode(item) for key, item in value.items()}
    return value


def _scalar(value):
    if isinstance(value, (bool, int, float, str)):
        return value
    return value.hex() if isinstance(value, bytes) else str(value)


class ScenarioAborted(Exception):
    """A step the rest of the scenario depends on failed."""


class Recorder:
    """Runs client calls, recording each one's value or error and the client state after it."""

    def __init__(self):
        self.nrp = None
        # Clients a scenario made besides `nrp`; ended with it.
        self.others: list = []
        self.steps: list[dict] = []

    def __call__(self, label: str, call, *args, **kwargs):
        try:
            value = call(*args, **kwargs)
            step = {"call": label, "value": encode(value)}
        except Exception as error:  # the exception is what is recorded
            value = None
            step = {"call": label, "error": type(error).__name__, "message": str(error)}
        if self.nrp is not None:
            step["state"] = self.nrp.current_state()
        self.steps.append(step)
        return value

    def construct(self, nrp_core, target: Target, **kwargs):
        nrp = self("construct", nrp_core, target.address, experiment_folder=target.experiment_folder,
                   config_file=target.config_file, server_timeout=20, **kwargs)
        if nrp is None:
            raise ScenarioAborted(self.steps[-1]["message"])
        self.nrp = nrp
        self.steps[-1].update(value=type(nrp).__name__, state=nrp.current_state())
        return nrp


def lifecycle(nrp_core, target: Target, record: Recorder) -> None:
    """Every legal request once, in order (tf_exchange has no status function: runs return no trajectory)."""
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    record("run_loop", nrp.run_loop, 10)
    record("run_until_timeout", nrp.run_until_timeout)
    record("reset", nrp.reset)
    record("run_loop_after_reset", nrp.run_loop, 2)
    record("stop", nrp.stop)
    record("shutdown", nrp.shutdown)


def illegal_requests(nrp_core, target: Target, record: Recorder) -> None:
    nrp = record.construct(nrp_core, target)
    record("run_loop_before_initialize", nrp.run_loop, 1)
    record("run_until_timeout_before_initialize", nrp.run_until_timeout)
    record("reset_before_initialize", nrp.reset)
    record("initialize", nrp.initialize)
    record("second_initialize", nrp.initialize)
    record("shutdown", nrp.shutdown)


def shutdown_in_created(nrp_core, target: Target, record: Recorder) -> None:
    nrp = record.construct(nrp_core, target)
    record("shutdown", nrp.shutdown)


def requests_after_shutdown(nrp_core, target: Target, record: Recorder) -> None:
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    record("shutdown", nrp.shutdown)
    record("initialize_after_shutdown", nrp.initialize)
    record("shutdown_after_shutdown", nrp.shutdown)


def server_dies_at_start(nrp_core, target: Target, record: Recorder) -> None:
    """NRPCoreSim exits at once (its config file does not exist)."""
    nrp = record("construct", nrp_core, target.address, experiment_folder=target.experiment_folder,
                 config_file="no_such_config.json", server_timeout=10)
    if nrp is not None:
        record.nrp = nrp
        record.steps[-1].update(value=type(nrp).__name__, state=nrp.current_state())
        record("initialize", nrp.initialize)


def datapacks_and_done(nrp_core, target: Target, record: Recorder) -> None:
    """status_function: JSON and proto datapacks in, a done flag and a mixed trajectory out."""
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    record("run_loop_not_done", nrp.run_loop, 3)
    nrp.set_json_datapack("command", "python_1", {"done_at": 5})
    nrp.set_proto_datapack("offset", "python_2", wrappers_pb2.Int32Value(value=100))
    record("run_loop_done", nrp.run_loop, 100)
    # done_at stays set, so the next step is done at once; by now python_2 has added the offset.
    record("run_loop_after_done", nrp.run_loop, 3)
    record("shutdown", nrp.shutdown)


def status_until_timeout(nrp_core, target: Target, record: Recorder) -> None:
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    record("run_until_timeout", nrp.run_until_timeout)
    record("shutdown", nrp.shutdown)


def reset_with_datapacks(nrp_core, target: Target, record: Recorder) -> None:
    """reset() restarts the engines and sends the buffered datapacks; counting starts over."""
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    record("run_loop", nrp.run_loop, 7)
    nrp.set_json_datapack("command", "python_1", {"done_at": 2})
    record("reset", nrp.reset)
    record("run_loop_after_reset", nrp.run_loop, 50)
    record("shutdown", nrp.shutdown)


def async_run_and_stop(nrp_core, target: Target, record: Recorder) -> None:
    """run_loop(run_async=True) returns a Thread; stop() interrupts the loop from another call."""
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    response: list = []
    thread = record("run_loop_async", lambda: nrp.run_loop(100000, run_async=True, response=response))
    record.steps[-1]["value"] = type(thread).__name__
    # Nothing a client sees says that the server's loop has begun (its state comes with replies
    # only), so the stop is sent after a while long enough for the runLoop call to arrive.
    time.sleep(0.5)
    record("stop", nrp.stop)
    thread.join(30)
    record.steps.append({"call": "joined", "value": not thread.is_alive(), "responses": len(response),
                         "state": nrp.current_state()})
    if response:
        record("unpack_thread_results", nrp.unpack_thread_results, response[0])
    record("shutdown", nrp.shutdown)


def handover_after_refused_shutdown(nrp_core, target: Target, record: Recorder) -> None:
    """nrp-core's server suite, test after test: a client dropped before initialize sends a shutdown
    (refused in Created) and no signal; the next client at the same address must reach its own
    server. The two differ in SimulationTimeout, which the second run's trajectory shows."""
    first = record.construct(nrp_core, target, args="-o SimulationTimeout=0.05")
    record.others.append(first)
    record("first_shutdown", first.shutdown)
    record.nrp = None
    second = record("construct_second", nrp_core, target.address, experiment_folder=target.experiment_folder,
                    config_file=target.config_file, server_timeout=20, args="-o SimulationTimeout=0.1")
    if second is None:
        raise ScenarioAborted(record.steps[-1]["message"])
    record.nrp = second
    record.steps[-1].update(value=type(second).__name__, state=second.current_state())
    record("initialize", second.initialize)
    record("run_until_timeout", second.run_until_timeout)
    record("shutdown", second.shutdown)


def datapacks_before_reset(nrp_core, target: Target, record: Recorder) -> None:
    """Datapacks not yet delivered (one waiting for its engine's sync, one sent with reset, one for
    an engine the simulation lacks) and what the engines saw when they reset."""
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    record("run_loop", nrp.run_loop, 1)
    nrp.set_json_datapack("actions", "two", {"waiting": True})
    record("run_loop_two_not_synced", nrp.run_loop, 1)
    nrp.set_json_datapack("actions", "one", {"test_reset": 987})
    nrp.set_proto_datapack("test", "test", wrappers_pb2.Int32Value(value=555))
    record("reset", nrp.reset)
    record("run_loop_after_reset", nrp.run_loop, 2)
    record("shutdown", nrp.shutdown)


def raw_data_trajectory(nrp_core, target: Target, record: Recorder) -> None:
    nrp = record.construct(nrp_core, target)
    record("initialize", nrp.initialize)
    record("run_until_timeout", nrp.run_until_timeout)
    record("shutdown", nrp.shutdown)


def unusable_address(nrp_core, target: Target, record: Recorder) -> None:
    """nrp-core's test_constructor_errors: server_timeout=1, as there (nrp-client reports a server
    that died within its timeout as no error at all)."""
    record("construct", nrp_core, "garbage_address", experiment_folder=target.experiment_folder,
           config_file=target.config_file, server_timeout=1)


SCENARIOS = {scenario.__name__: scenario for scenario in (
    lifecycle, illegal_requests, shutdown_in_created, requests_after_shutdown, server_dies_at_start,
    datapacks_and_done, status_until_timeout,
    reset_with_datapacks, async_run_and_stop,
    handover_after_refused_shutdown, datapacks_before_reset, raw_data_trajectory, unusable_address)}


def run(name: str, nrp_core, target: Target, server_alive, release) -> dict:
    """Run scenario `name`; `server_alive(nrp)` and `release(nrp)` are the client-specific hooks:
    whether its NRPCoreSim still runs when the scenario ends, and ending it whatever happened."""
    record = Recorder()
    result: dict = {"steps": record.steps}
    try:
        SCENARIOS[name](nrp_core, target, record)
    except Exception as error:  # reported with the steps so far, for the test to show
        result["aborted"] = f"{type(error).__name__}: {error}"
    finally:
        if record.nrp is not None:
            result["server_alive_at_end"] = server_alive(record.nrp)
            release(record.nrp)
        for other in record.others:
            release(other)
    return result
