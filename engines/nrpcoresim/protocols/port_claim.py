"""nrp-core's choice of a gRPC engine's address before it is launched: the configured
ServerAddress if it can be bound now, else a free port of the same host (nrp-core's
`EngineGrpcClient::validateServerAddress`). The engine is then told that address."""

from __future__ import annotations

import logging
import socket

from engines.nrpcoresim.config.server_address import parse_server_address
from engines.ports import can_bind

log = logging.getLogger(__name__)


def claim_server_address(engine_name: str, address: str) -> str:
    """`address`, or `host:<free port>` when its port is taken; unchanged if it cannot be parsed
    or its host is not local (the engine's own bind then reports the problem)."""
    try:
        host, port = parse_server_address(address)
    except ValueError:
        return address
    if can_bind(host, port):
        return address
    free = _free_port(host)
    if free is None:
        return address
    claimed = f"[{host}]:{free}" if ":" in host else f"{host}:{free}"
    log.info("engine %s could not bind the address of its configuration '%s'; using '%s' instead",
             engine_name, address, claimed)
    return claimed


def _free_port(host: str) -> int | None:
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.bind(sockaddr)
            return probe.getsockname()[1]
    except OSError:
        return None
