"""Simulation time at any moment of the panel's clock, from the status messages seen so far.

The datapack stream carries no simulation time (an MQTT datapack is nrp-core's bare message, and
the server stamps samples with when it received them), while every status tells the simulation
time exactly. So each status becomes a point (panel clock, simulation time), and a sample's
simulation time is read off the line through the points around its arrival. Between two statuses
that is exact for a run at a steady pace; after the last one it goes on at the last pace seen
while the simulation advanced (a paused simulation sends no datapacks), until the next status
corrects it: plots are rebuilt from the points at every write.
"""

from __future__ import annotations

import bisect
from collections import deque

# Statuses come once a second (and at each transition): this covers hours of a run.
MAX_POINTS = 20_000
# The pace is learned from stretches at least this long: a status just after a transition (a
# resume, say) is a fraction of a second and one chunk of steps away, no measure of the pace.
MIN_PACE_SPAN_S = 0.5


class SimulationClock:
    """The points (moment, simulation time), in the order of the moments."""

    def __init__(self, max_points: int = MAX_POINTS):
        self._moments: deque[float] = deque(maxlen=max_points)
        self._times: deque[float] = deque(maxlen=max_points)
        self._pace: float | None = None

    def __len__(self) -> int:
        return len(self._moments)

    def add(self, moment: float, sim_time: float) -> None:
        """The simulation was at `sim_time` s at `moment` (s on the panel's clock)."""
        if self._moments and moment <= self._moments[-1]:
            # Two statuses in one clock tick: the later one is the truth.
            self._times[-1] = sim_time
            return
        if self._moments:
            advanced, span = sim_time - self._times[-1], moment - self._moments[-1]
            if advanced > 0 and span >= MIN_PACE_SPAN_S:
                self._pace = advanced / span
        self._moments.append(moment)
        self._times.append(sim_time)

    def at(self, moment: float) -> float:
        """The simulation time at `moment`: 0 before any status, the first status's time before it."""
        if not self._moments:
            return 0.0
        if moment <= self._moments[0]:
            return self._times[0]
        if moment >= self._moments[-1]:
            return self._times[-1] + (moment - self._moments[-1]) * (self._pace or 0.0)
        after = bisect.bisect_right(self._moments, moment)
        m0, m1 = self._moments[after - 1], self._moments[after]
        t0, t1 = self._times[after - 1], self._times[after]
        return t0 + (t1 - t0) * (moment - m0) / (m1 - m0)
