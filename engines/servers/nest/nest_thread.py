"""The one thread that may call NEST.

NEST's kernel belongs to the thread that first used it: a call from any other thread (even the
main thread, after the engine's request threads ran NEST) crashes the process with a segmentation
fault. The engine's HTTP server serves each connection on a thread of its own and the process
is stopped from its main thread, so every NEST call goes through this thread instead. NEST's
kernel is one per process, and so is this thread (`nest_thread()`), created on first use.
"""

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_shared: "NestThread | None" = None
_shared_lock = threading.Lock()


def nest_thread() -> "NestThread":
    """The process's NEST thread, started by the first call."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = NestThread()
        return _shared


class NestThread:
    """A daemon thread that runs the calls given to `call`, one at a time, in order."""

    def __init__(self, name: str = "nest") -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        # Daemon: a NEST call stuck in C++ must not keep the process from exiting.
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run `function(*args)` on the NEST thread; its result, or its exception (with traceback)."""
        if threading.current_thread() is self._thread:
            return function(*args)
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._calls.put((future, function, args))
        return future.result()

    def _serve(self) -> None:
        while True:
            future, function, args = self._calls.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function(*args))
            except BaseException as exc:  # handed to the caller, which re-raises it
                future.set_exception(exc)
