"""The life of an engine server process, common to both protocols.

    parse the command line -> serve on --serverurl (or a free port when registering) -> register
    -> wait for a stop (shutdown request, SIGTERM/SIGINT, parent gone) -> shut the script down
    -> stop the server -> exit 0

Exit status: 0 after any requested stop, 1 if the engine could not serve or register,
2 for a bad command line (argparse).
"""

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Protocol

from engines.servers.cli import parse_args, parse_server_options
from engines.servers.parent_watch import ParentWatcher, parent_pid_from_env
from engines.servers.registration import RegistrationError, register
from engines.servers.script.script_base import ScriptBase
from engines.servers.script.script_host import ScriptHost
from engines.servers.stopping import StopRequest

log = logging.getLogger(__name__)

# How long a stop waits for a script call in progress before abandoning the script.
SCRIPT_CALL_GRACE_S = 5.0
# How long in-flight responses and server threads get to finish, once the script is done.
STOP_GRACE_S = 2.0


class EngineServer(Protocol):
    def start(self, serverurl: str, *, free_port_if_taken: bool) -> str:
        """Serve on serverurl, or on a free port if it is taken and `free_port_if_taken`; the
        'host:port' actually bound."""

    def stop(self, grace: float) -> None:
        """Stop serving and release the port, giving in-flight responses up to `grace` s."""


ServerFactory = Callable[[ScriptHost, Callable[[str], None]], EngineServer]
# (engine name, script base class) -> the host of the engine's script.
HostFactory = Callable[[str, type[ScriptBase]], ScriptHost]


def run_engine(argv: list[str] | None, *, prog: str, default_serverurl: str, script_base: type[ScriptBase],
               make_server: ServerFactory, make_host: HostFactory = ScriptHost) -> int:
    """Run one engine server process to the end; its exit status.

    `make_host` builds the host that loads and runs the engine's script (a ScriptHost loads
    PythonFileName; an engine whose script comes from elsewhere passes a host of its own). The
    runner owns it: it closes it when the process is stopped from outside.
    """
    args = parse_args(argv, prog=prog, default_serverurl=default_serverurl)
    configure_logging(args.engine)
    _forgive_stdout()
    if args.unknown:
        log.warning("ignoring unknown arguments %s", " ".join(args.unknown))
    options = parse_server_options(args.options)
    if options:
        log.info("ServerOptions %s accepted; they tune gunicorn in nrp-core and change nothing here", options)

    stop = StopRequest()
    stop.install_signal_handlers()
    watcher = None
    parent_pid = parent_pid_from_env(os.environ)
    if parent_pid is not None:
        watcher = ParentWatcher(parent_pid, stop.request)
        watcher.start()

    host = make_host(args.engine, script_base)
    server = make_server(host, stop.request)
    status = 0
    grace = STOP_GRACE_S
    try:
        # A launched engine registers the port it got; one started by hand (no --regservurl) tells
        # nobody, so it must serve where it was told or not at all.
        address = server.start(args.serverurl, free_port_if_taken=bool(args.regservurl))
        log.info("serving on %s", address)
        if args.regservurl:
            register(args.regservurl, args.engine, address, wait=stop.wait)
        stop.wait()
        log.info("stopping: %s", stop.reason)
        if not host.close(SCRIPT_CALL_GRACE_S):
            grace = 0.0  # a script call is stuck: nothing more will finish by waiting
    except RegistrationError as exc:
        log.error("%s; the engine's client cannot find it, exiting", exc)
        status = 1
    except (OSError, ValueError) as exc:  # ValueError: --serverurl is not HOST:PORT
        log.error("cannot serve on %s: %s", args.serverurl, exc)
        status = 1
    finally:
        server.stop(grace)
        if watcher is not None:
            watcher.stop()
    _exit_if_threads_linger(status, grace)
    return status


def configure_logging(engine: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    name = engine.replace("%", "%%")
    handler.setFormatter(logging.Formatter(f"%(asctime)s %(levelname)s [{name}] %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)


class _ForgivingStdout:
    """sys.stdout for engine scripts, which print freely.

    Script output is not part of any protocol, so a reader that went away (a closed pipe) must
    not fail the script's step: the output is dropped from then on.
    """

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except OSError:
            self._drop()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError:
            self._drop()

    def __getattr__(self, name):
        return getattr(self._stream, name)

    def _drop(self) -> None:
        # Point fd 1 at /dev/null too: the interpreter's final flush of the original stream then
        # succeeds, where a failure would turn the exit status into 120.
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, self._stream.fileno())
        except (OSError, ValueError):
            pass
        finally:
            os.close(devnull)


def _forgive_stdout() -> None:
    if sys.stdout is None:
        return
    try:
        # Line buffering shows script output as it happens, interleaved with the log on stderr.
        sys.stdout.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass
    sys.stdout = _ForgivingStdout(sys.stdout)


def _exit_if_threads_linger(status: int, grace: float) -> None:
    """Exit at once, rather than at interpreter exit, if a thread would hold the process.

    With grace 0 a script call is stuck in a worker thread, and interpreter exit joins gRPC's
    pool workers (daemon or not). Otherwise a non-daemon thread a script started may still run:
    it gets `grace` seconds.
    """
    if grace > 0:
        deadline = time.monotonic() + grace
        for thread in threading.enumerate():
            if thread is not threading.current_thread() and not thread.daemon:
                thread.join(max(0.0, deadline - time.monotonic()))
        lingering = [t.name for t in threading.enumerate() if t.is_alive() and not t.daemon
                     and t is not threading.current_thread()]
        if not lingering:
            return
        log.warning("threads %s are still running; exiting without them", ", ".join(lingering))
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            pass
    os._exit(status)
