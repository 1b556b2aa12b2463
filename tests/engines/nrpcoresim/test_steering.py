"""NRPCoreSim's steering service (protos/nrp_steering.proto, our extension), through
engines.nrpcore_steering on the channel of a real NrpCore, with tf_exchange's engine processes:
JSON and protobuf datapacks, the step they reach their engine at, inside a long runLoop too, their
order, reads, refusals, and a reset that delivers what is still held."""

from __future__ import annotations

import shutil
import threading

import pytest

from engines.nrpcore_client import NrpCore
from engines.nrpcore_steering import SteeringClient, SteeringError
from tests.conftest import EXPERIMENTS
from tests.ports import free_address
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("no_leftover_processes")]

STEP_NS = 10_000_000


@pytest.fixture
def tf_exchange(tmp_path):
    folder = tmp_path / "tf_exchange"
    shutil.copytree(EXPERIMENTS / "tf_exchange", folder, ignore=shutil.ignore_patterns("*.zip", "*.log"))
    return folder


def started(folder, config="simulation_config.json") -> tuple[NrpCore, SteeringClient, list]:
    core = NrpCore(free_address("localhost"), experiment_folder=str(folder), config_file=config, server_timeout=30)
    core.initialize()
    client = SteeringClient(core.channel)
    outcomes = []
    client.watch(outcomes.append)
    return core, client, outcomes


def test_json_steering_reaches_its_engine_at_the_next_step_in_order(tf_exchange):
    core, client, outcomes = started(tf_exchange)
    try:
        assert client.read("python_1", "datapack1") == (None, {"time": 0, "timestep": 0})
        # Between runs: held for the first step, then sent after the TF's output, which it replaces.
        client.steer(1, "python_2", "rec_datapack2", {"time": -1})
        client.steer(2, "python_2", "rec_datapack2", {"time": -2})
        client.steer(3, "python_2", "nothing", {"x": 1})
        core.run_loop(1)
        assert client.read("python_2", "rec_datapack2") == (None, {"time": -2})
        core.run_loop(1)
        assert client.read("python_2", "rec_datapack2") == (None, {"time": STEP_NS, "timestep": STEP_NS})
        eventually(lambda: len(outcomes) == 3, 10, "three outcomes")
        refused, first, second = outcomes
        assert (refused.ticket, refused.applied, refused.missing) == (3, False, True)
        assert "no datapack 'nothing'" in refused.error
        assert [(o.ticket, o.applied, o.time_ns, o.iteration) for o in (first, second)] == [(1, True, 0, 0),
                                                                                          (2, True, 0, 0)]
        with pytest.raises(SteeringError, match="no engine 'nobody'") as unknown:
            client.steer(4, "nobody", "x", 1)
        assert unknown.value.missing
        with pytest.raises(SteeringError, match="takes JSON datapacks") as wrong_kind:
            client.steer(5, "python_2", "rec_datapack2", {"string_stream": "x"}, "Dump.String")
        assert wrong_kind.value.invalid
        with pytest.raises(SteeringError, match="no datapack 'nothing'"):
            client.read("python_2", "nothing")
    finally:
        core.shutdown()


def test_steering_inside_one_long_run_loop_and_a_reset_that_delivers_what_is_held(tf_exchange):
    core, client, outcomes = started(tf_exchange)
    try:
        run = threading.Thread(target=core.run_loop, args=(90,))
        run.start()
        client.steer(1, "python_2", "rec_datapack2", {"during": True})
        run.join(60)
        assert not run.is_alive()
        eventually(lambda: outcomes, 10, "the outcome")
        [applied] = outcomes
        # Applied at a boundary inside the 90 steps (0.9 s), not after them.
        assert applied.applied and 0 <= applied.time_ns < 90 * STEP_NS
        client.steer(2, "python_2", "rec_datapack2", {"held": True})
        core.reset()
        eventually(lambda: len(outcomes) == 2, 10, "the second outcome")
        assert outcomes[1].applied and outcomes[1].time_ns == 90 * STEP_NS
    finally:
        core.shutdown()
    # The stream ends with NRPCoreSim's shutdown; nothing is left waiting.


def test_protobuf_steering_is_checked_against_the_engine_s_type(tf_exchange):
    core, client, outcomes = started(tf_exchange, "simulation_config_grpc.json")
    try:
        assert client.read("python_1", "datapack1") == ("Dump.String", {"string_stream": "0"})
        client.steer(1, "python_2", "rec_datapack2", {"string_stream": "steered"}, "Dump.String")
        client.steer(2, "python_1", "datapack1", {}, "Dump.ArrayFloat")
        with pytest.raises(SteeringError, match="ProtobufPackages are \\['Dump'\\]"):
            client.steer(6, "python_1", "datapack1", {"value": 1.5}, "Wrappers.DoubleValue")
        with pytest.raises(SteeringError, match="JSON datapack"):
            client.steer(3, "python_1", "datapack1", {"string_stream": "x"})
        with pytest.raises(ValueError, match="^type: no protobuf message type 'No.Such'"):
            client.steer(4, "python_1", "datapack1", {}, "No.Such")
        with pytest.raises(ValueError, match="^value: not a Dump.String"):
            client.steer(5, "python_1", "datapack1", {"no_field": 1}, "Dump.String")
        core.run_loop(1)
        assert client.read("python_2", "rec_datapack2") == ("Dump.String", {"string_stream": "steered"})
        eventually(lambda: len(outcomes) == 2, 10, "two outcomes")
        by_ticket = {outcome.ticket: outcome for outcome in outcomes}
        assert by_ticket[1].applied
        assert not by_ticket[2].applied and "is a Dump.String, not a Dump.ArrayFloat" in by_ticket[2].error
    finally:
        core.shutdown()
