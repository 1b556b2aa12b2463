"""Launch/start/stop cycles through a real server process leave nothing behind: no process, no
kernel, no listening port, no simulation directory, and no file descriptor beyond a small
constant after a warm-up cycle. benchmarks/soak.py runs the long version (200 cycles)."""

import dataclasses

import pytest

from tests.reliability.footprint import Footprint, idle, settled
from tests.reliability.soak import FD_ALLOWANCE, SETTLE_WITHIN_S, soak, start_server

# The short soak; benchmarks/soak.py runs the long one. A cycle takes 1.5 to 4 s on a 2-core
# machine, most of it the kernel's start.
CYCLES = 20


@pytest.fixture
def soak_server(tmp_path, no_leftover_processes):
    server, simulations_dir = start_server(tmp_path, no_leftover_processes)
    yield server, simulations_dir
    server.stop_all_simulations()
    server.stop()


# Bounds a hang, not the pace: cycles slow down on a machine busy with other runs, and more when a
# stop has to kill NRPCoreSim after stop_grace.
@pytest.mark.timeout(600)
def test_cycles_return_the_server_to_its_baseline(soak_server, no_leftover_processes):
    server, simulations_dir = soak_server

    result = soak(server, no_leftover_processes, simulations_dir, CYCLES)

    print(result.report())
    assert result.left == []
    assert result.final.kernels == result.final.core == result.final.children == ()
    assert result.final.ports == result.baseline.ports
    assert result.final.simulation_dirs == ()
    # Every stop archived its logs: the warm-up's and each cycle's.
    assert result.archives == CYCLES + 1


@pytest.mark.timeout(120)
def test_a_simulation_left_running_is_reported_as_a_leak(soak_server, no_leftover_processes):
    server, simulations_dir = soak_server
    baseline = idle(server, no_leftover_processes, simulations_dir)
    code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 201, body

    _, left = settled(server, no_leftover_processes, simulations_dir, baseline, within_s=0.5)

    leaked = {entry.split(":")[0] for entry in left}
    assert {"children", "core", "kernels", "simulation_dirs", "listening ports"} <= leaked, left
    server.call("PUT", "simulation", str(body["simulationID"]), "state", body={"state": "stopped"})
    _, left = settled(server, no_leftover_processes, simulations_dir, baseline, fd_allowance=1_000,
                      within_s=SETTLE_WITHIN_S)
    assert left == []


def test_file_descriptors_beyond_the_allowance_are_a_leak():
    baseline = Footprint(children=(), core=(), kernels=(), ports=frozenset({1}), file_descriptors=20,
                         simulation_dirs=())
    within = dataclasses.replace(baseline, file_descriptors=20 + FD_ALLOWANCE)
    beyond = dataclasses.replace(baseline, file_descriptors=21 + FD_ALLOWANCE)

    assert within.differences(baseline, FD_ALLOWANCE) == []
    assert beyond.differences(baseline, FD_ALLOWANCE) == [
        f"file descriptors: {21 + FD_ALLOWANCE} > 20 + {FD_ALLOWANCE}"]
