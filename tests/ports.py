"""Free TCP ports for the servers, brokers and engines the tests start."""

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listened on at `host` ("127.0.0.1", "[::1]", an interface's address) a moment
    ago. The OS hands out ephemeral ports in turn, so another process rarely takes it before the
    test binds it."""
    bare = host.strip("[]")
    with socket.socket(socket.AF_INET6 if ":" in bare else socket.AF_INET) as probe:
        probe.bind((bare, 0))
        return probe.getsockname()[1]


def free_address(host: str = "127.0.0.1") -> str:
    """`host:port` with a port free at `host`, for a server address ("localhost" probes the IPv4
    loopback, which is where servers given "localhost" listen)."""
    return f"{host}:{free_port('127.0.0.1' if host == 'localhost' else host)}"


def port_is_free(port: int) -> bool:
    """Whether a server could listen on `port` at 127.0.0.1 now."""
    with socket.socket() as sock:
        # gRPC servers bind with SO_REUSEADDR too; TIME_WAIT leftovers of closed connections are fine.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True
