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
import queue
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
    """The worker of one engine: a thread that runs its tasks in the order they were submitted.

    A daemon, unlike an executor's threads, which interpreter exit waits for: a script stuck in a
    step must not keep NRPCoreSim from exiting, the only way to end that step.
    """

    def __init__(self, engine_name: str):
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._last: EngineTask | None = None
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name=f"engine-{engine_name}", daemon=True)

    def submit(self, function, *args) -> EngineTask:
        with self._lock:
            task = self._last = EngineTask(function, args, self._last)
            if self._thread.ident is None:
                self._thread.start()  # at the first task: a client that never gets one starts no thread
        self._requests.put(task)
        return task

    def close(self) -> None:
        """Ends the thread once the tasks submitted so far have run."""
        self._requests.put(None)

    def _serve(self) -> None:
        while (task := self._requests.get()) is not None:
            task.run()
