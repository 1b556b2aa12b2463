"""Stop the engine when the process that launched it is gone (env var NRP_PARENT_PID).

An engine whose orchestrator was killed would otherwise serve forever. The watch uses a pidfd,
which becomes readable when the process exits, and falls back to polling once a second where
pidfds are unavailable. prctl(PR_SET_PDEATHSIG) is not used: it fires when the *thread* that
forked us exits, and an orchestrator may launch engines from short-lived threads.
"""

import logging
import os
import select
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

ENV_VAR = "NRP_PARENT_PID"
POLL_INTERVAL_S = 1.0


def parent_pid_from_env(environ) -> int | None:
    value = environ.get(ENV_VAR)
    if not value:
        return None
    if not value.isdigit() or int(value) <= 0:
        log.warning("ignoring %s=%r: not a process id", ENV_VAR, value)
        return None
    return int(value)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    # A zombie has exited; only its parent has not reaped it yet.
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            state = stat.read().rpartition(b")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in (b"Z", b"X")


class ParentWatcher:
    """Calls `on_gone(reason)` once, from its own thread, when process `pid` has exited."""

    def __init__(self, pid: int, on_gone: Callable[[str], None]):
        self._pid = pid
        self._on_gone = on_gone
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        try:
            pidfd = os.pidfd_open(self._pid)
        except ProcessLookupError:
            self._gone()
            return
        except (AttributeError, OSError) as exc:
            log.info("no pidfd for parent %d (%s); polling every %.0f s", self._pid, exc, POLL_INTERVAL_S)
            target, args = self._poll, ()
        else:
            target, args = self._wait_pidfd, (pidfd,)
        # The pid may already belong to a zombie, whose pidfd is readable at once: no special case.
        self._thread = threading.Thread(target=target, args=args, name="parent-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(2.0)
        self._wake_r.close()
        self._wake_w.close()

    def _wait_pidfd(self, pidfd: int) -> None:
        try:
            readable, _, _ = select.select([pidfd, self._wake_r], [], [])
        finally:
            os.close(pidfd)
        if pidfd in readable:
            self._gone()

    def _poll(self) -> None:
        while is_alive(self._pid):
            readable, _, _ = select.select([self._wake_r], [], [], POLL_INTERVAL_S)
            if readable:
                return
        self._gone()

    def _gone(self) -> None:
        log.warning("parent process %d is gone", self._pid)
        self._on_gone(f"parent process {self._pid} exited")
