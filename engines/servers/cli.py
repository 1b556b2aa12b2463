"""Command line of the engine server processes, as nrp-core launches them:

    <server> --engine=NAME --serverurl=HOST:PORT [--regservurl=HOST:PORT] [--options=STR]
             [--protobuf_plugins_path=DIR --protobuf_plugins=JSON_LIST]

nrp-core passes --options to python_json and py_sim engines, and the two --protobuf_plugins flags
to gRPC engines other than python_grpc; these servers accept them all. --regservurl makes the
server register the address it bound, which is a free port when --serverurl's is taken; without
it the server serves at --serverurl or exits.

Both `--x=v` and `--x v` work. Unknown arguments (an experiment's EngineProcStartParams may add
some) are kept and reported, not fatal.
"""

import argparse
import ast
import logging
from dataclasses import dataclass

from engines.engine_wire import LaunchOption

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerArgs:
    engine: str
    serverurl: str
    regservurl: str | None
    options: str
    unknown: tuple[str, ...]


def parse_args(argv: list[str] | None, *, prog: str, default_serverurl: str) -> ServerArgs:
    # allow_abbrev=False: a prefix of a known flag in EngineProcStartParams must stay unknown.
    parser = argparse.ArgumentParser(prog=prog, allow_abbrev=False,
                                     description="nrp-core compatible engine server")
    parser.add_argument(LaunchOption.ENGINE.flag, required=True, help="the engine's EngineName")
    parser.add_argument(LaunchOption.SERVER_URL.flag, default=default_serverurl,
                        help="HOST:PORT to serve on; a free port is used if PORT is taken")
    parser.add_argument(LaunchOption.REGISTRATION_URL.flag, default=None,
                        help="HOST:PORT of the registration server to POST the bound address to")
    parser.add_argument(LaunchOption.OPTIONS.flag, default="",
                        help="ServerOptions, a Python dict literal of gunicorn settings")
    parser.add_argument(LaunchOption.PROTOBUF_PLUGINS_PATH.flag, default=None,
                        help="where nrp-core's protobuf plugins are; messages are built in here")
    parser.add_argument(LaunchOption.PROTOBUF_PLUGINS.flag, default=None,
                        help="the engine's ProtobufPackages as a JSON list; all shipped ones load here")
    namespace, unknown = parser.parse_known_args(argv)
    known = vars(namespace)  # argparse keeps each option under its name
    return ServerArgs(known[LaunchOption.ENGINE], known[LaunchOption.SERVER_URL],
                      known[LaunchOption.REGISTRATION_URL], known[LaunchOption.OPTIONS], tuple(unknown))


def parse_server_options(text: str) -> dict:
    """ServerOptions ("{'timeout':600}") as a dict; {} (with a warning) if it is not one.

    These are gunicorn settings in nrp-core; none changes how this server behaves, but an
    experiment that sets them must still start.
    """
    if not text or not text.strip():
        return {}
    try:
        options = ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        log.warning("ignoring --options %r: not a Python dict literal", text)
        return {}
    if not isinstance(options, dict):
        log.warning("ignoring --options %r: not a dict", text)
        return {}
    return options


def split_address(address: str) -> tuple[str, int]:
    """'host:port' or '[v6host]:port' as (host, port)."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f'"{address}" is not a HOST:PORT address')
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def join_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
