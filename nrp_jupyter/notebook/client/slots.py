"""Waiting for a launch slot: the server refuses a launch (409) while `max_simulations` are active.

A slot frees when a simulation reaches a final state (stopped or failed); a completed one still
holds its slot until it is stopped, as in NRP. `SlotWaiter` listens on the /events WebSocket for
those transitions, so a queued launch is retried as soon as a slot may be free and not before.
The socket is opened before the first attempt, so a slot freed between the refusal and the wait
is not missed. If events stop coming for `RECHECK_S` (a proxy that drops WebSockets, a server
restart) the launch is simply tried again: a retry every few seconds at worst, never a busy loop.
"""

from __future__ import annotations

import time

from .errors import NoFreeSlot, NrpError, ServerUnreachable

FINAL_TARGETS = frozenset({"stopped", "failed"})
# The longest a queued launch waits for an event before it tries again anyway.
RECHECK_S = 5.0


def frees_a_slot(message: dict) -> bool:
    """True for an /events message saying a simulation has ended (stopped or failed)."""
    payload = message.get("payload") if isinstance(message, dict) else None
    return (isinstance(message, dict) and message.get("topic") == "lifecycle" and isinstance(payload, dict)
            and payload.get("target_state") in FINAL_TARGETS)


class SlotWaiter:
    """Blocks until some simulation of the server ends, or a deadline passes."""

    def __init__(self, connection, timeout_s: float):
        self.deadline = time.monotonic() + timeout_s
        self.timeout_s = timeout_s
        self._connection = connection
        self._stream = None
        self._open()

    def _open(self) -> None:
        try:
            self._stream = self._connection.events()
        except ServerUnreachable:
            # Without events the waiter still retries every RECHECK_S seconds.
            self._stream = None

    @property
    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def wait(self) -> None:
        """Returns when a simulation has ended since the last call (or the previous attempt may
        simply be worth repeating); never later than the deadline."""
        until = min(self.deadline, time.monotonic() + RECHECK_S)
        while (left := until - time.monotonic()) > 0:
            if self._stream is None:
                time.sleep(left)
                return
            try:
                message = self._stream.next(timeout=left)
            except NrpError:  # the server closed the stream: reopen it, and try the launch again
                self._stream.close()
                self._open()
                return
            if message is not None and frees_a_slot(message):
                return

    def give_up(self, refusal: NrpError) -> NoFreeSlot:
        return NoFreeSlot(f"no free simulation slot within {self.timeout_s:g} s: {refusal.message} "
                          f"(a completed simulation keeps its slot until it is stopped)")

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def __enter__(self) -> SlotWaiter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()
