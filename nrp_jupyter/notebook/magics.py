"""The `%nrp` line magic: NRP simulations from a notebook, over the REST API.

`%load_ext nrp_jupyter` registers it. The magic finds the Jupyter server the kernel runs under
(`%nrp connect` points it elsewhere) and remembers the last simulation it launched, which the other
subcommands act on when given no ID. Bad arguments and server errors are one line each, not a
traceback.
"""

from __future__ import annotations

from datetime import datetime

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_magic, magics_class, output_can_be_silenced
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring

from . import steering_magics
from .client import Connection, NrpError, Simulation, launch

ACTIONS = ("list", "launch", "start", "pause", "resume", "stop", "status", "logs", "panel", "connect")
# The subcommands that act on one simulation, with the Simulation method each calls.
STATE_CHANGES = {"start": "start", "pause": "pause", "resume": "resume", "stop": "stop"}
TAKES_ID = (*STATE_CHANGES, "status", "logs", "panel")


class NrpCommandError(Exception):
    """A `%nrp` command the server refused, or could not be reached for; IPython shows its one
    line instead of a traceback (`_render_traceback_`)."""

    def _render_traceback_(self) -> list[str]:
        return [f"NrpError: {self}"]


@magics_class
class NrpMagics(Magics):
    """Holds the connection and the last launched simulation of one IPython shell."""

    def __init__(self, shell=None):
        super().__init__(shell)
        self.connection: Connection | None = None
        self.last_simulation_id: int | None = None

    @magic_arguments()
    @argument("action", choices=ACTIONS, metavar="{" + ",".join(ACTIONS) + "}",
              help="what to do; start, pause, resume, stop, status, logs and panel act on a simulation")
    @argument("target", nargs="?", metavar="EXPERIMENT|ID|URL",
              help="launch: the experiment (folder name); connect: the server's base URL; otherwise a "
                   "simulation ID, by default the one launched last")
    @argument("--config", metavar="FILE", help="launch: another simulation config of the experiment")
    @argument("--script", metavar="FILE", help="launch: another main script of the experiment")
    @argument("--token", metavar="TOKEN", help="connect: the server's token")
    @output_can_be_silenced
    @line_magic
    def nrp(self, line: str):
        """Launch and control NRP simulations on a Jupyter server with nrp_jupyter.

        %nrp list                                     the server's simulations
        %nrp launch EXPERIMENT [--config F] [--script F]
        %nrp start|pause|resume|stop [ID]
        %nrp status [ID]                              state, experiment, config and script
        %nrp logs [ID]                                the simulation's log files
        %nrp panel [ID]                               the live control panel widget
        %nrp connect URL [--token T]                  use another server than this kernel's own
        %nrp set [ID] ENGINE DATAPACK JSON            steer a datapack (steering_magics.py)
        %nrp step [N] [ID]  /  %nrp reset [ID]        step a paused simulation, or reset it

        ID defaults to the simulation launched last from this kernel. `launch` returns the
        Simulation (`simulation = %nrp launch tf_exchange`; a trailing `;` hides it).
        """
        # IPython passes a silencing `;` on to the magic (and then drops what it returns).
        action, _, rest = line.rstrip().removesuffix(";").strip().partition(" ")
        if action in steering_magics.ACTIONS:
            try:
                return steering_magics.run(self, action, rest.strip())
            except NrpError as error:
                raise NrpCommandError(str(error)) from None
        args = parse_argstring(self.nrp, line.rstrip().removesuffix(";"))
        _check_options(args)
        try:
            if args.action == "connect":
                return self._connect(args.target, args.token)
            if args.action == "list":
                return self._list()
            if args.action == "launch":
                return self._launch(args.target, args.config, args.script)
            simulation = Simulation(self._connection(), self._simulation_id(args.target))
            if args.action in STATE_CHANGES:
                state = getattr(simulation, STATE_CHANGES[args.action])()
                print(f"Simulation {simulation.id}: {state}")
            elif args.action == "status":
                self._status(simulation)
            elif args.action == "logs":
                print(simulation.logs() or f"Simulation {simulation.id} has no logs yet")
            else:
                self._panel(simulation)
        except NrpError as error:
            raise NrpCommandError(str(error)) from None
        return None

    # -- subcommands -------------------------------------------------------------------------

    def _connect(self, url: str, token: str | None) -> None:
        try:
            connection = Connection(url, token)
        except ValueError as error:
            raise UsageError(str(error)) from None
        try:
            version = connection.version()
        except NrpError:
            connection.close()
            raise
        if self.connection is not None:
            self.connection.close()
        self.connection = connection
        print(f"Connected to {connection.url} (nrp_jupyter {version.get('nrp_jupyter', '?')})")

    def _list(self) -> None:
        connection = self._connection()
        records = connection.simulations()
        if not records:
            print(f"No simulations on {connection.url}")
            return
        rows = [("ID", "experiment", "state", "owner", "created")]
        rows += [(str(record["simulationID"]), record["experimentID"], record["state"], record["owner"],
                  _local_time(record["creationDate"])) for record in records]
        widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())

    def _launch(self, experiment: str, config: str | None, script: str | None) -> Simulation:
        simulation = launch(experiment, connection=self._connection(), config=config, script=script)
        self.last_simulation_id = simulation.id
        print(f"Simulation {simulation.id} of {experiment} launched: {simulation.state}")
        return simulation

    def _status(self, simulation: Simulation) -> None:
        info = simulation.details()
        print(f"Simulation {simulation.id}: {info['state']} ({info['experimentID']}, "
              f"config {info['experimentConfiguration']}, script {info['mainScript']}, "
              f"owner {info['owner']})")
        if info.get("reason"):
            print(f"  failed: {info['reason']}")
        if error := info.get("runtimeError"):
            print(f"  last runtime error ({error.get('error_type')}) in {error.get('fileName')}, line "
                  f"{error.get('line_number')}: {error.get('msg')}")

    def _panel(self, simulation: Simulation) -> None:
        # Imported here: the widget stack is heavy, and only `panel` needs it.
        from IPython.display import display

        from .panel import ControlPanel

        simulation.state  # noqa: B018 (an unknown ID is said now, not inside the widget)
        display(ControlPanel(simulation))

    # -- helpers -------------------------------------------------------------------------------

    def simulation(self, target: str | None) -> Simulation:
        """The simulation `target` names (an ID), by default the one launched last."""
        return Simulation(self._connection(), self._simulation_id(target))

    def _connection(self) -> Connection:
        if self.connection is None:
            self.connection = Connection.discover()
        return self.connection

    def _simulation_id(self, target: str | None) -> int:
        if target is None:
            if self.last_simulation_id is None:
                raise UsageError("no simulation launched from this kernel yet: give an ID "
                                 "(%nrp list shows them)")
            return self.last_simulation_id
        if not target.isdigit():
            raise UsageError(f"a simulation ID is a number, not {target!r}")
        return int(target)

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()


def _local_time(iso: str) -> str:
    """`2026-12-08 01:02:03+01:00` for NRP's `2026-12-08T01:02:03.456789+01:00`: to the second, with
    the offset the server wrote (its times are Europe/Zurich's, not necessarily the reader's)."""
    try:
        return datetime.fromisoformat(iso).isoformat(sep=" ", timespec="seconds")
    except (TypeError, ValueError):
        return str(iso)  # not ISO-8601: shown as the server sent it


def _check_options(args) -> None:
    """The options argparse cannot tie to one subcommand."""
    if args.action in ("launch", "connect") and not args.target:
        what = "an experiment" if args.action == "launch" else "a server URL"
        raise UsageError(f"%nrp {args.action} needs {what}")
    if args.action == "list" and args.target:
        raise UsageError(f"%nrp list takes no argument, not {args.target!r}")
    for option in ("config", "script"):
        if getattr(args, option) is not None and args.action != "launch":
            raise UsageError(f"--{option} is an option of %nrp launch, not of %nrp {args.action}")
    if args.token is not None and args.action != "connect":
        raise UsageError(f"--token is an option of %nrp connect, not of %nrp {args.action}")


def load(shell) -> NrpMagics:
    magics = NrpMagics(shell)
    shell.register_magics(magics)
    return magics


def unload(shell) -> None:
    magics = shell.magics_manager.registry.pop(NrpMagics.__name__, None)
    shell.magics_manager.magics["line"].pop("nrp", None)
    if magics is not None:
        magics.close()
