"""On which thread an in-process engine's script runs, and how long its client waits for it.

Without an EngineCommandTimeout a script call runs on the thread that makes it: the engine's
worker, or the loop's thread for the step the loop would only wait for (engine_client.run_here),
as cheap as a call can be. With one, the client must be able to stop waiting for a call that
cannot be interrupted, as the RPC path stops waiting for an engine's answer: calls then run on a
thread of the engine's own and are waited for at most that long.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading

from engines.nrpcoresim.in_process import script_output


class ScriptCallTimeout(Exception):
    """A script call outlived the engine's EngineCommandTimeout; it is still running."""


class DirectCalls:
    """Script calls on the calling thread; what they print goes to `output` (None: stays put)."""

    def __init__(self, output=None):
        self._output = output

    def call(self, function, *args):
        if self._output is None:
            return function(*args)
        previous = script_output.route(self._output)
        try:
            return function(*args)
        finally:
            script_output.restore(previous)

    def close(self) -> None:
        pass


class TimedCalls:
    """Script calls on a thread of the engine's own, each waited for at most `timeout_s`.

    The thread is a daemon: a script stuck in a call must not keep NRPCoreSim from exiting, which
    is the only way to end that call.
    """

    def __init__(self, engine_name: str, timeout_s: float, output=None):
        self._timeout_s = timeout_s
        self._output = output
        self._requests: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name=f"engine-script-{engine_name}", daemon=True)
        self._thread.start()

    def call(self, function, *args):
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._requests.put((function, args, future))
        try:
            return future.result(self._timeout_s)
        except concurrent.futures.TimeoutError:
            raise ScriptCallTimeout() from None

    def close(self) -> None:
        """Ends the thread once the call it runs, if any, returns."""
        self._requests.put(None)

    def _serve(self) -> None:
        script_output.route(self._output)
        while (request := self._requests.get()) is not None:
            function, args, future = request
            try:
                future.set_result(function(*args))
            except BaseException as error:  # noqa: BLE001 (the caller re-raises it, SystemExit included)
                future.set_exception(error)
