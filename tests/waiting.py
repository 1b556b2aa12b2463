"""Waiting for something to happen: the one polling loop of the test suite, sync and async.

Tests wait for events (a state, a message, a process ending) rather than sleeping a fixed time;
where nothing can be awaited directly, they poll a condition until it holds or the time is up."""

import asyncio
import inspect
import time
from typing import Any, Callable, TypeVar

# Short enough not to slow a test down, long enough not to busy a 2-core machine.
POLL_S = 0.02

Measurement = TypeVar("Measurement")


class NotWithin(AssertionError):
    """A condition did not hold in time (an AssertionError, so that a test fails on it)."""


def _failure(what: str | Callable[[], Any], within_s: float) -> NotWithin:
    # `what` may be a callable so that the message shows the state at the moment of failure.
    return NotWithin(f"not within {within_s} s: {what() if callable(what) else what}")


def eventually(condition: Callable[[], Any], within_s: float, what: str | Callable[[], Any],
               every_s: float = POLL_S) -> Any:
    """Calls `condition()` until it returns something true, and returns that; raises AssertionError
    naming `what` and `within_s` if it has not by then."""
    deadline = time.monotonic() + within_s
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise _failure(what, within_s)
        time.sleep(every_s)
    return value


def settle(measure: Callable[[], Measurement], done: Callable[[Measurement], bool], within_s: float,
           every_s: float = POLL_S) -> Measurement:
    """Measures until `done(measurement)` holds or `within_s` has passed, and returns the last
    measurement either way: for callers that report what is left rather than fail at once."""
    last: list[Measurement] = []

    def measured_and_done() -> bool:
        last[:] = [measure()]
        return done(last[0])

    try:
        eventually(measured_and_done, within_s, "settled", every_s)
    except NotWithin:
        pass  # the caller looks at the last measurement
    return last[0]


async def eventually_async(condition: Callable[[], Any], within_s: float, what: str | Callable[[], Any],
                           every_s: float = POLL_S) -> Any:
    """`eventually` for tests on an event loop: polls without blocking the loop (the Jupyter server
    under test shares it). `condition` may be a coroutine function."""
    deadline = time.monotonic() + within_s
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise _failure(what, within_s)
        await asyncio.sleep(every_s)
