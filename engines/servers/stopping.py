"""When the engine process stops: one request, from whichever comes first.

The shutdown request, SIGTERM/SIGINT and the parent watcher all call `StopRequest.request`;
the main thread waits for it and then tears the server down. A second signal while stopping
exits at once, for a script that hangs in its shutdown().
"""

import logging
import os
import signal
import threading

log = logging.getLogger(__name__)


class StopRequest:
    """A one-shot request to stop the engine process, with its reason."""

    def __init__(self):
        self._event = threading.Event()
        self.reason: str | None = None

    def request(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """True once stopping was requested (within `timeout`)."""
        return self._event.wait(timeout)

    def install_signal_handlers(self) -> None:
        """Make SIGTERM (nrp-core's launcher stops engines with it) and SIGINT request a stop.

        Python runs the handlers in the main thread, which spends its life in `wait()`.
        """
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, self._on_signal)

    def _on_signal(self, signum: int, frame) -> None:
        name = signal.Signals(signum).name
        if self._event.is_set():
            log.warning("%s while stopping; exiting now", name)
            os._exit(1)
        log.info("%s received", name)
        self.request(name)
