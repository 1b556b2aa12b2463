"""Engine tasks that the thread waiting for one may run itself, when the engine's worker has not.

The loop hands each engine's step to the engine's worker thread and later waits for it. For an
engine over RPC the worker spends the step waiting on a socket, and the hand-off is cheap beside
it. An in-process step is a few microseconds of Python, and handing it to another thread and back
costs more than the step: two thread wake-ups that each wait for the GIL. So a waiter that finds
its task not yet started runs it on its own thread, and the worker skips it when it gets there.
Steps still overlap whenever one lets go of the GIL (a simulator's C code, a sleep, I/O): the
worker then takes the next task before anyone waits for it.

An engine's tasks keep their order: a task is only taken by a waiter once the engine's previous
task is done, and each task runs once, by whoever claims it first.
"""

from __future__ import annotations

import concurrent.futures
import threading


class EngineTask(concurrent.futures.Future):
    """`function(*args)`, to be run once by the engine's worker (`run`) or by its first waiter."""

    def __init__(self, function, args: tuple, previous: EngineTask | None):
        super().__init__()
        self._function = function
        self._args = args
        self._previous = previous
        self._claim = threading.Lock()

    def run(self) -> None:
        """The worker's turn: runs the task unless a waiter has taken it."""
        if self._claim.acquire(blocking=False):
            self._execute()

    def result(self, timeout=None):
        previous = self._previous
        if not self.done() and (previous is None or previous.done()) and self._claim.acquire(blocking=False):
            self._execute()
        return super().result(timeout)

    def _execute(self) -> None:
        self._previous = None  # done with: a chain of finished tasks would otherwise be kept alive
        try:
            value = self._function(*self._args)
        except BaseException as error:  # noqa: BLE001 (delivered through the future, as by an executor)
            self.set_exception(error)
        else:
            self.set_result(value)


class EngineTasks:
    """The tasks of one engine, in the order they were submitted to its worker."""

    def __init__(self, worker: concurrent.futures.Executor):
        self._worker = worker
        self._last: EngineTask | None = None
        self._lock = threading.Lock()

    def submit(self, function, *args) -> EngineTask:
        with self._lock:
            task = self._last = EngineTask(function, args, self._last)
        self._worker.submit(task.run)
        return task
