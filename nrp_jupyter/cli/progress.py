"""Simulation time as a progress bar on a terminal, or as plain lines when not writing to one."""

from __future__ import annotations

from typing import TextIO

BAR_WIDTH = 30


def describe(status: dict) -> tuple[float | None, str]:
    """`(fraction done or None, text)` of NRP's status payload (simulationTime, simulationTimeLeft,
    realTime, state). Without a simulation timeout nothing is left to count down: no fraction."""
    simulated = float(status.get("simulationTime") or 0.0)
    left = float(status.get("simulationTimeLeft") or 0.0)
    real = float(status.get("realTime") or 0.0)
    total = simulated + left
    state = status.get("state", "")
    if total > 0 and left >= 0:
        fraction = min(1.0, simulated / total)
        return fraction, (f"{fraction:4.0%}  simulation time {simulated:.2f} s of {total:.2f} s, "
                          f"real time {real:.1f} s, {state}")
    return None, f"simulation time {simulated:.2f} s, real time {real:.1f} s, {state}"


class ProgressDisplay:
    """Writes each status to `out`: over one line with a bar when `interactive`, else one line
    per status that says something new."""

    def __init__(self, out: TextIO, *, interactive: bool):
        self.out = out
        self.interactive = interactive
        self._last = None
        self._open_line = False

    def update(self, status: dict) -> None:
        fraction, text = describe(status)
        if text == self._last:
            return
        self._last = text
        if self.interactive:
            filled = round((fraction or 0.0) * BAR_WIDTH)
            bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] " if fraction is not None else ""
            self.out.write(f"\r\x1b[2K{bar}{text}")
            self._open_line = True
        else:
            self.out.write(f"progress: {text}\n")
        self.out.flush()

    def message(self, text: str) -> None:
        """A line of its own, below the bar."""
        self.finish()
        self.out.write(text + "\n")
        self.out.flush()

    def finish(self) -> None:
        if self._open_line:
            self.out.write("\n")
            self.out.flush()
            self._open_line = False
