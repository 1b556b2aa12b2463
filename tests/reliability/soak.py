"""Launch/start/stop cycles of tf_exchange through a real server process, with the server's
footprint (tests/reliability/footprint.py) measured before and after. Shared by the soak test
and `benchmarks/soak.py`.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import statistics
import time

from tests.conftest import EXPERIMENTS, TEST_MARKER_VARIABLE
from tests.live_server import LiveServer, experiments_root
from tests.reliability.footprint import Footprint, idle, settled

EXPERIMENT = "tf_exchange"

# File descriptors the server may hold after the warm-up cycle beyond those it held after it.
# Measured: none over 200 cycles (benchmarks/soak.py, docs/faults.md); the allowance covers what a library may
# open lazily later on (a second SQLite journal, a resolver socket), never one per cycle.
FD_ALLOWANCE = 4
# How long what a cycle leaves may take to go: a leak stays, so waiting longer costs a passing run
# nothing, and a loaded machine (a stop that has to kill NRPCoreSim after stop_grace) needs it.
SETTLE_WITHIN_S = 15.0


def start_server(tmp_path: pathlib.Path, marker: str) -> tuple[LiveServer, pathlib.Path]:
    """A server on its embedded broker, serving a copy of tf_exchange, with its simulations under
    `tmp_path/simulations`. Its processes carry `marker` (they inherit the environment)."""
    os.environ[TEST_MARKER_VARIABLE] = marker
    simulations_dir = tmp_path / "simulations"
    simulations_dir.mkdir(parents=True, exist_ok=True)
    root = experiments_root(tmp_path / "root", EXPERIMENTS, names=(EXPERIMENT,))
    server = LiveServer(root, tmp_path, extra_args=(f"--NrpJupyterApp.simulations_dir={simulations_dir}",))
    return server.start(), simulations_dir


@dataclasses.dataclass
class CycleTimes:
    launch_s: list[float] = dataclasses.field(default_factory=list)
    start_s: list[float] = dataclasses.field(default_factory=list)
    stop_s: list[float] = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        def figures(values):
            return (f"median {statistics.median(values) * 1e3:6.0f} ms, max {max(values) * 1e3:6.0f} ms"
                    if values else "none")

        return (f"launch {figures(self.launch_s)} | start {figures(self.start_s)} | "
                f"stop {figures(self.stop_s)}")


def cycle(server: LiveServer, index: int, times: CycleTimes) -> int:
    """One launch, start and stop; every other cycle runs to `completed` before the stop, so that
    both ways a run ends are soaked. Returns the simulation id."""
    began = time.monotonic()
    code, body = server.call("POST", "simulation", body={"experimentID": EXPERIMENT})
    assert code == 201 and body["state"] == "paused", (code, body)
    simulation_id = body["simulationID"]
    times.launch_s.append(time.monotonic() - began)

    began = time.monotonic()
    code, body = server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "started"})
    assert (code, body) == (200, {"state": "started"}), (simulation_id, code, body)
    times.start_s.append(time.monotonic() - began)
    if index % 2:
        server.wait_state(simulation_id, "completed", timeout=30)

    began = time.monotonic()
    code, body = server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "stopped"})
    assert (code, body) == (200, {"state": "stopped"}), (simulation_id, code, body)
    times.stop_s.append(time.monotonic() - began)
    return simulation_id


@dataclasses.dataclass
class SoakResult:
    baseline: Footprint
    warmed_up: Footprint
    final: Footprint
    left: list[str]
    times: CycleTimes
    cycles: int
    archives: int
    seconds: float

    def report(self) -> str:
        return "\n".join([
            f"baseline (idle server):    {self.baseline.summary()}",
            f"after the warm-up cycle:   {self.warmed_up.summary()}",
            f"after {self.cycles:4d} more cycles:  {self.final.summary()}",
            f"left beyond the warm-up:   {self.left or 'nothing'} (fd allowance {FD_ALLOWANCE})",
            f"log archives written:      {self.archives}",
            f"per cycle:                 {self.times.summary()}",
            f"total:                     {self.seconds:.1f} s, "
            f"{self.seconds / max(self.cycles, 1):.2f} s per cycle",
        ])


def soak(server: LiveServer, marker: str, simulations_dir: pathlib.Path, cycles: int,
         progress=None) -> SoakResult:
    """A warm-up cycle, then `cycles` more, then the footprint against the one after the warm-up."""
    baseline = idle(server, marker, simulations_dir)
    times = CycleTimes()
    cycle(server, 1, CycleTimes())
    warmed_up, left = settled(server, marker, simulations_dir, baseline, fd_allowance=1_000,
                              within_s=SETTLE_WITHIN_S)
    assert not left, left
    began = time.monotonic()
    for index in range(cycles):
        cycle(server, index, times)
        if progress is not None:
            progress(index)
    seconds = time.monotonic() - began
    final, left = settled(server, marker, simulations_dir, warmed_up, fd_allowance=FD_ALLOWANCE,
                          within_s=SETTLE_WITHIN_S)
    archives = len(list((server.root / "experiments" / EXPERIMENT).glob("*_simulation_*.log.zip")))
    return SoakResult(baseline, warmed_up, final, left, times, cycles, archives, seconds)
