"""The JSON engine server's HTTP layer (engines.servers.http_server) in this process."""

import http.client
import socket

import pytest

from engines.servers.http_server import HttpServer, Response


@pytest.mark.timeout(30)
def test_a_keep_alive_connection_has_nagle_off():
    # With Nagle on, a response that leaves in two writes waits for the client's delayed ACK (40 ms).
    server = HttpServer(lambda method, target, body: Response(200, b'"ok"'))
    host, port = server.bind("127.0.0.1", 0)
    server.start()
    client = http.client.HTTPConnection(host, port, timeout=10)
    try:
        for _ in range(3):
            client.request("POST", "/run_loop", b"{}")
            assert client.getresponse().read() == b'"ok"'
        (connection,) = server._connections  # the one connection the three requests shared
        assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        client.close()
        server.stop(1)
