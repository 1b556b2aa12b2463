"""Whether a local TCP port can be bound now: NRPCoreSim asks before it tells an engine its address,
the server's embedded broker before it listens."""

from __future__ import annotations

import socket


def can_bind(host: str, port: int) -> bool:
    """True if a server could bind `port` on `host` (as servers do, with SO_REUSEADDR: a port in
    TIME_WAIT is free, only a listening socket takes it). A host that does not resolve counts as
    free, so that the server's own bind reports it."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        return True
    for family, kind, proto, _, sockaddr in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(sockaddr)
            except OSError:
                return False
    return True
