"""`Owner`: one thread that runs, one at a time and in order, what other threads post to it.

State that only this thread touches needs no lock: other threads post the owner's handlers to run
(`post`, as with asyncio's call_soon_threadsafe), ask it questions and wait for the answer (`ask`),
and run blocking work on threads of their own that hand the owner what comes next (`spawn`). The
owner also ticks: while ticking it waits for the next handler no longer than the next tick.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

#: A thread waiting for the owner's answer checks this often whether the owner has ended.
ANSWER_WAIT_S = 0.1

_T = TypeVar("_T")


class Owner:
    """Runs posted handlers on the thread `name` from start() until a handler calls end()."""

    def __init__(self, name: str, tick: Callable[[], None]) -> None:
        self._inbox: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._tick = tick
        self._interval: float | None = None
        self._next_tick = 0.0
        self._ended = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- from any thread -------------------------------------------------------------------------

    def post(self, handler: Callable[[], None]) -> None:
        """Have the owner run `handler`, after what was posted before."""
        self._inbox.put(handler)

    def ask(self, question: Callable[[], _T], if_ended: Callable[[], _T]) -> _T:
        """`question()` as the owner runs it, its exception raised here; `if_ended()` if the owner
        has ended without running it."""
        answer: concurrent.futures.Future = concurrent.futures.Future()

        def on_owner() -> None:
            try:
                answer.set_result(question())
            except Exception as error:  # noqa: BLE001 -- raised in the asking thread
                answer.set_exception(error)

        self.post(on_owner)
        while not concurrent.futures.wait([answer], ANSWER_WAIT_S).done:
            if not self.alive and not answer.done():
                return if_ended()
        return answer.result()

    def spawn(self, name: str, work: Callable[[], None], then: Callable[[], None] | None = None
              ) -> threading.Thread:
        """Run blocking `work` on the daemon thread `name`; the owner then runs `then`, whatever
        `work` did (its exception is logged)."""
        def run() -> None:
            try:
                work()
            except Exception:
                log.exception("%s failed", name)
            if then is not None:
                self.post(then)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    # -- from the owner's handlers ---------------------------------------------------------------

    def start_ticks(self, interval: float) -> None:
        """Tick every `interval` seconds from now on."""
        self._interval = interval
        self._next_tick = time.monotonic() + interval

    def stop_ticks(self) -> None:
        self._interval = None

    @property
    def ticking(self) -> bool:
        return self._interval is not None

    def end(self) -> None:
        """The handler that calls this is the last one the owner runs."""
        self._ended = True

    # -- the owner thread ------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._ended:
            handler = self._next_handler()
            try:
                handler()
            except Exception:
                # A bug in one handler must not leave the state without its owner.
                log.exception("%s: %r failed", self._thread.name, handler)

    def _next_handler(self) -> Callable[[], None]:
        if self._interval is None:
            return self._inbox.get()
        wait = self._next_tick - time.monotonic()
        if wait > 0:
            try:
                return self._inbox.get(timeout=wait)
            except queue.Empty:
                pass
        # A fixed schedule (start + k * interval), so a slow tick does not shift later ones; ticks
        # missed entirely are skipped rather than sent in a burst.
        now = time.monotonic()
        self._next_tick += self._interval
        if self._next_tick <= now:
            self._next_tick = now + self._interval
        return self._tick
