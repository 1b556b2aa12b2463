"""NRP's status payload (spec 1.5), which the simulation server's owner thread emits every interval
and at each transition."""

from __future__ import annotations


def status_fields(state: str, real_time: float, simulation_time: float, time_left: float) -> dict:
    return {"realTime": real_time, "simulationTime": simulation_time, "state": state,
            "simulationTimeLeft": time_left}
