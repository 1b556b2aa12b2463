"""`ServerAddress` of engines started elsewhere, by hand (``"LaunchType": "EmptyLaunchCommand"``).

An engine launched here registers the address it really binds, so its configured `ServerAddress` is
only a wish; an engine started by hand is reached at exactly that address and nowhere else. So for
those engines the key must be present (the schema's ``localhost:9002`` default would silently point
at this machine) and must be ``HOST:PORT`` or ``[IPV6]:PORT`` with a port a client can connect to.
"""

from engines.errors import ConfigError
from engines.nrpcoresim.config.jsonpath import format_path

EMPTY_LAUNCH_COMMAND = "EmptyLaunchCommand"


def launch_type(engine: dict) -> str:
    """The engine's LaunchType, BasicFork when the config does not say."""
    command = engine.get("EngineLaunchCommand")
    return command.get("LaunchType", "BasicFork") if isinstance(command, dict) else "BasicFork"


def is_started_elsewhere(engine: dict) -> bool:
    return launch_type(engine) == EMPTY_LAUNCH_COMMAND


def parse_server_address(address) -> tuple[str, int]:
    """``(host, port)`` of ``HOST:PORT`` or ``[IPV6]:PORT``; ValueError saying what is wrong."""
    if not isinstance(address, str) or not address.strip():
        raise ValueError("it is empty")
    if "/" in address:
        raise ValueError("it is HOST:PORT, without a scheme or a path")
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError("it is not HOST:PORT (no port after the last ':')")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError("an IPv6 host must be written in brackets, as [::1]:9002")
    if host.startswith("["):
        host = host[1:-1]
    elif ":" in host:
        raise ValueError("an IPv6 host must be written in brackets, as [::1]:9002")
    if not host or any(char.isspace() for char in host):
        raise ValueError("it has no valid host before the port")
    number = int(port)
    if not 1 <= number <= 65535:
        raise ValueError(f"port {number} is not between 1 and 65535")
    return host, number


def check_started_elsewhere(engines: list, file: str | None) -> None:
    """ConfigError naming `EngineConfigs[i].ServerAddress` for an EmptyLaunchCommand engine without a
    usable address. Runs before the schema defaults are filled in, which would hide a missing key."""
    for index, engine in enumerate(engines):
        if not isinstance(engine, dict) or not is_started_elsewhere(engine):
            continue
        path = format_path(["EngineConfigs", index, "ServerAddress"])
        if "ServerAddress" not in engine:
            raise ConfigError(f"missing required key 'ServerAddress': engine {engine.get('EngineName')!r} "
                              f"has LaunchType {EMPTY_LAUNCH_COMMAND}, so it is started by hand and reached "
                              f"only at its ServerAddress (HOST:PORT)", file=file, path=path)
        try:
            parse_server_address(engine["ServerAddress"])
        except ValueError as error:
            raise ConfigError(f"{engine['ServerAddress']!r} is not an address an engine started elsewhere "
                              f"can be reached at: {error}", file=file, path=path) from None


def check_listen_address(address: str) -> None:
    """ValueError saying what is wrong unless NRPCoreSim's gRPC server can be told to listen at
    `address`: ``HOST:PORT``, ``[IPV6]:PORT`` or a ``unix:`` socket path. Whether HOST resolves and
    the port is free is learnt only when the server binds."""
    if isinstance(address, str) and address.startswith(("unix:", "unix-abstract:")):
        if not address.partition(":")[2]:
            raise ValueError("the unix socket path is empty")
        return
    parse_server_address(address)
