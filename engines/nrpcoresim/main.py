"""NRPCoreSim: runs an nrp-core experiment, standalone or as the `NrpCore` gRPC server.

Command line as nrp-core 1.4's (the PyPI nrp-client launches it with exactly these flags):

    NRPCoreSim -c simulation_config.json [-d EXPERIMENT_DIR] [-o KEY=VALUE ...] [-m standalone|server]
               [--server_address HOST:PORT] [--logoutput all|engines|silent] [--logfilename FILE] [--slave]

Exit status: 0 after a normal shutdown, 1 when the simulation failed, 2 for a bad command line or
config (reported before anything is launched).
"""

from __future__ import annotations

import argparse
import logging
import os
import pathlib
import signal
import sys
import threading

from engines.import_costs import skip_iri_grammar

log = logging.getLogger("NRPCoreSim")

LOG_LEVELS = {"trace": logging.DEBUG, "debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING,
              "warning": logging.WARNING, "error": logging.ERROR, "critical": logging.CRITICAL,
              "off": logging.CRITICAL + 10}


class Terminated(BaseException):
    """SIGTERM (or the client's death) ends the process; raised in the main thread to unwind it."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="NRPCoreSim", description="Run an nrp-core experiment.")
    parser.add_argument("-c", "--config", required=True, help="simulation config file (relative to -d)")
    parser.add_argument("-d", "--dir", help="experiment directory; the process works there")
    parser.add_argument("-p", "--plugins", help="accepted for compatibility; engines need no plugins here")
    parser.add_argument("-o", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config value; VALUE is JSON (strings need quotes); repeatable")
    parser.add_argument("-m", "--mode", choices=["standalone", "server"], default="standalone")
    parser.add_argument("--server_address", default="localhost:5345", help="gRPC address in server mode")
    parser.add_argument("--cloglevel", choices=sorted(LOG_LEVELS), default="info", help="console log level")
    parser.add_argument("--floglevel", choices=sorted(LOG_LEVELS), default="debug", help="log file level")
    parser.add_argument("--logoutput", choices=["all", "engines", "silent"],
                        help="what goes to the log file: all output, engines' output only, or nothing "
                             "(default: no log file)")
    parser.add_argument("--logfilename", default=".console_output.log", help="log file, relative to -d")
    parser.add_argument("--logdir", help="accepted for compatibility")
    parser.add_argument("-l", "--logconfig", help="accepted for compatibility")
    parser.add_argument("--slave", action="store_true",
                        help="launched by a client: ignore SIGINT, exit on SIGTERM or when the client dies")
    return parser


def main(argv: list[str] | None = None) -> int:
    options = build_parser().parse_args(argv)
    skip_iri_grammar()
    if options.dir:
        try:
            os.chdir(options.dir)
        except OSError as error:
            print(f"NRPCoreSim: cannot enter experiment directory {options.dir}: {error.strerror}", file=sys.stderr)
            return 2
    log_file = _configure_logging(options)
    _install_signal_handlers(slave=options.slave)
    manager = None
    try:
        # Before the config is read (a second or so): a client waiting for this server learns of a
        # bad address from our exit, not from a timeout.
        if options.mode == "server" and not _can_listen_at(options.server_address):
            return 2
        manager = _load(options, log_file)
        if manager is None:
            return 2
        if options.mode == "server":
            return _serve(manager, options.server_address)
        return _run_standalone(manager)
    except Terminated:
        # Also while the config loads: a client that gives up on us stops us at any point.
        log.info("terminated; shutting down")
        return 0
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if manager is not None:
            manager.teardown()


def _can_listen_at(address: str) -> bool:
    from engines.nrpcoresim.config.server_address import check_listen_address

    try:
        check_listen_address(address)
    except ValueError as error:
        log.error("cannot listen on %s: %s", address, error)
        return False
    return True


def _load(options, log_file):
    """The simulation manager for the config, or None after logging why the config is unusable."""
    from engines.errors import NrpCoreError
    from engines.nrpcoresim.config import load_simulation_config
    from engines.nrpcoresim.manager import SimulationManager

    config_path = pathlib.Path(options.config).resolve()
    try:
        config = load_simulation_config(config_path, options.param)
    except NrpCoreError as error:
        log.error("%s", error)
        return None
    engine_output = log_file if options.logoutput in ("all", "engines") else None
    return SimulationManager(config, base_dir=config_path.parent, engine_output=engine_output)


def _run_standalone(manager) -> int:
    from engines.errors import NrpCoreError

    try:
        manager.initialize()
        log.info("simulation initialized; running until timeout")
        done, timed_out, _ = manager.run_until_timeout()
        log.info("simulation ended at t=%.3f s (%s)", manager.time_ns / 1e9,
                 "done" if done else "timeout" if timed_out else "stopped")
        manager.shutdown()
        return 0
    except NrpCoreError as error:
        log.error("%s", error)
        return 1


def _serve(manager, address: str) -> int:
    from engines.nrpcoresim.server import RequestQueue, create_server

    requests = RequestQueue()
    try:
        server, port = create_server(manager, requests, address)
    except OSError as error:
        log.error("%s", error)
        return 2
    server.start()
    log.info("NrpCore server listening on %s", address)
    try:
        # Until a shutdown request (which stops the server itself) or a signal.
        requests.serve()
    finally:
        requests.close()
        # Waited for, so that the answer to a shutdown request leaves before the process does.
        server.stop(grace=0.5).wait(1.0)
    return 0


def _configure_logging(options):
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(LOG_LEVELS[options.cloglevel])
    console.setFormatter(logging.Formatter("[%(asctime)s] [%(name)s] [%(levelname)s] %(message)s"))
    root.addHandler(console)
    if not options.logoutput or options.logoutput == "silent":
        return None
    if options.logoutput == "all":
        # Everything goes to the log file; the console (often a notebook's) only hears of problems.
        console.setLevel(max(console.level, logging.WARNING))
    log_file = open(options.logfilename, "a", buffering=1)  # noqa: SIM115 (lives as long as the process)
    if options.logoutput == "all":
        handler = logging.StreamHandler(log_file)
        handler.setLevel(LOG_LEVELS[options.floglevel])
        handler.setFormatter(console.formatter)
        root.addHandler(handler)
    return log_file


def _install_signal_handlers(slave: bool) -> None:
    def terminate(signum, frame):
        # Further signals must not interrupt the cleanup that this one starts.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise Terminated()

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.SIG_IGN if slave else terminate)
    parent = os.environ.get("NRP_PARENT_PID")
    if slave or parent:
        _watch_parent(int(parent) if parent and parent.isdigit() else os.getppid())


def _watch_parent(parent_pid: int) -> None:
    """Ends this process when the client that launched it is gone (even after its SIGKILL)."""
    direct_child = os.getppid() == parent_pid

    def gone() -> bool:
        # A dead parent re-parents us at once, while it may linger as a zombie for a while.
        return os.getppid() != parent_pid if direct_child else not _alive(parent_pid)

    def watch():
        while not gone():
            threading.Event().wait(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


if __name__ == "__main__":
    sys.exit(main())
