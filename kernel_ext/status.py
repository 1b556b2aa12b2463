"""The periodic status event: NRP's status payload (spec 1.5), every interval on a daemon thread."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

THREAD_NAME = "NrpStatusThread"


def status_fields(state: str, real_time: float, simulation_time: float, time_left: float) -> dict:
    return {"realTime": real_time, "simulationTime": simulation_time, "state": state,
            "simulationTimeLeft": time_left}


class StatusTicker:
    """Calls `tick` every `interval` seconds from start() until stop().

    Ticks follow a fixed schedule (start + k * interval), so a slow tick does not shift later
    ones; ticks missed entirely are skipped rather than sent in a burst.
    """

    def __init__(self, interval: float, tick: Callable[[], None]) -> None:
        self.interval = interval
        self._tick = tick
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """End the schedule. A tick already under way may still run: a `tick` that must not emit
        after stop checks `stopped` under the lock its caller stops the ticker with."""
        self._stopped.set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _run(self) -> None:
        next_tick = time.monotonic() + self.interval
        while not self._stopped.wait(max(0.0, next_tick - time.monotonic())):
            try:
                self._tick()
            except Exception:
                log.exception("status tick failed")
            now = time.monotonic()
            next_tick += self.interval
            if next_tick <= now:
                next_tick = now + self.interval
