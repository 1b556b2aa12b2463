"""`jupyter nrp`: the Jupyter server with nrp_jupyter, and headless runs of experiments.

    jupyter nrp [serve] [server options]     a Jupyter server serving ./experiments over NRP's REST API
    jupyter nrp run EXPERIMENT [options]     launch, start and follow one experiment to its end

Exit statuses of `run`: 0 the simulation completed; 1 it failed (a runtime error, a failed
launch); 2 bad command line; 3 it did not end within --timeout; 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys

from engines.import_costs import skip_iri_grammar

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_TIMEOUT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
SUBCOMMANDS = ("serve", "run")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("-h", "--help", "help"):
        print(__doc__.strip())
        return EXIT_OK
    if argv and argv[0] == "run":
        return run(argv[1:])
    if argv and argv[0] == "serve":
        argv = argv[1:]
    return serve(argv)


def serve(server_args: list[str]) -> int:
    """A Jupyter server with nrp_jupyter only (whatever the config files enable), rooted in the
    current directory, without opening a browser unless asked to."""
    skip_iri_grammar()  # before jupyter_server imports jsonschema
    from ..server.app import NrpJupyterApp

    # The NRP server alone: JupyterLab, its terminals and language servers, when installed, are
    # `jupyter lab`'s, and loading them would add about a second to every start (the private
    # server of `jupyter nrp run` too).
    NrpJupyterApp.load_other_extensions = False

    # traitlets refuses a trait given twice, so the default is added only when not given.
    asked = any("open_browser" in arg or arg == "--no-browser" for arg in server_args)
    NrpJupyterApp.launch_instance([*([] if asked else ["--ServerApp.open_browser=False"]), *server_args])
    return EXIT_OK


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter nrp run",
        description="Launch an experiment headless, start it and show its simulation time until it ends; "
                    "Ctrl-C stops it. Without --url, a private Jupyter server is started for the run.")
    parser.add_argument("experiment", help="the experiment's folder name under <root-dir>/experiments")
    parser.add_argument("--timeout", type=_positive_seconds, metavar="S",
                        help="stop the simulation and fail after S seconds of wall-clock time")
    parser.add_argument("--config", metavar="FILE", help="another simulation config of the experiment")
    parser.add_argument("--script", metavar="FILE", help="another main script of the experiment")
    parser.add_argument("--url", help="a running Jupyter server with nrp_jupyter (its base URL)")
    parser.add_argument("--token", help="the token of the server given by --url (default: $JUPYTER_TOKEN)")
    parser.add_argument("--root-dir", default=".", metavar="DIR",
                        help="root of the private server; its experiments are DIR/experiments (default: .)")
    return parser


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text}")
    return value


def run(argv: list[str]) -> int:
    from ..notebook.client import Connection, NrpError
    from .headless import HeadlessRun
    from .private_server import PrivateServer

    parser = run_parser()
    args = parser.parse_args(argv)
    if args.token and not args.url:
        parser.error("--token needs --url")
    connection = None
    if args.url:
        try:
            connection = Connection(args.url, args.token or os.environ.get("JUPYTER_TOKEN"))
        except ValueError as error:
            parser.error(f"--url: {error}")
    else:
        experiment_dir = os.path.join(args.root_dir, "experiments", args.experiment)
        if not os.path.isdir(experiment_dir):
            parser.error(f"no experiment folder {experiment_dir}")
    out = sys.stdout
    signal.signal(signal.SIGTERM, _interrupt)
    # Also when started with SIGINT ignored (in the background of a non-interactive shell, which
    # Python then leaves ignored): Ctrl-C, or a SIGINT from a supervisor, must stop the run.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    server = None
    headless = None
    try:
        if connection is None:
            print(f"Starting a Jupyter server for {os.path.abspath(args.root_dir)}", file=out, flush=True)
            server = PrivateServer(args.root_dir)
            connection = server.start()
        headless = HeadlessRun(connection, args.experiment, out=out, interactive=out.isatty(),
                               config=args.config, script=args.script, timeout=args.timeout)
        outcome = headless.run()
        with _sigint_ignored():
            final_state = headless.stop()
        return _report(outcome, final_state, args.timeout, out)
    except KeyboardInterrupt:
        print("\nInterrupted; stopping", file=out, flush=True)
        if headless is not None and headless.simulation is None:
            print("The launch was interrupted; the server may still initialise the simulation", file=out)
        with _sigint_ignored():
            if headless is not None:
                headless.stop()
        return EXIT_INTERRUPTED
    except NrpError as error:
        print(f"Error: {error}", file=sys.stderr)
        with _sigint_ignored():
            if headless is not None:
                headless.stop()
        return EXIT_FAILED
    finally:
        if server is not None:
            with _sigint_ignored():
                server.stop()


def _report(outcome, final_state: str | None, timeout: float | None, out) -> int:
    """The last line of a run, and its exit status."""
    from .headless import format_runtime_error

    simulation = f"Simulation {outcome.simulation_id}"
    if outcome.timed_out:
        print(f"Timed out after {timeout:g} s; {simulation.lower()} stopped "
              f"({final_state or 'state unknown'})", file=out)
        return EXIT_TIMEOUT
    if outcome.succeeded:
        print(f"{simulation} completed", file=out)
        return EXIT_OK
    if outcome.failures:
        print(f"{simulation} failed: {format_runtime_error(outcome.failures[-1]).splitlines()[0]}", file=out)
    else:
        print(f"{simulation} ended as {outcome.state}", file=out)
    return EXIT_FAILED


def _interrupt(signum, frame):
    """SIGTERM (e.g. from a CI runner) ends a run the way Ctrl-C does: the simulation is stopped."""
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigint_ignored():
    """For the clean-up: a second Ctrl-C must not leave a simulation or the private server running."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)

