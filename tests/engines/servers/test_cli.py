"""Command line, ServerOptions, addresses and the registration POST, in process."""

import http.server
import json
import threading

import pytest

from engines.servers.cli import join_address, parse_args, parse_server_options, split_address
from engines.servers.registration import RegistrationError, register
from tests.ports import free_port


def test_both_flag_forms_and_unknown_arguments():
    args = parse_args(["--engine", "e", "--serverurl=h:1", "--regservurl", "r:2", "--options={'a': 1}",
                       "--other=3", "x"], prog="p", default_serverurl="localhost:9002")
    assert (args.engine, args.serverurl, args.regservurl, args.options) == ("e", "h:1", "r:2", "{'a': 1}")
    assert args.unknown == ("--other=3", "x")


def test_defaults_and_no_abbreviations():
    args = parse_args(["--engine=e", "--server=x:1"], prog="p", default_serverurl="localhost:9004")
    assert (args.serverurl, args.regservurl, args.options) == ("localhost:9004", None, "")
    assert args.unknown == ("--server=x:1",)


@pytest.mark.parametrize("text, expected", [
    ("{'timeout':600}", {"timeout": 600}),
    ("", {}),
    ("   ", {}),
    ("[1, 2]", {}),
    ("__import__('os').system('false')", {}),
    ("{'timeout':", {}),
])
def test_server_options(text, expected):
    assert parse_server_options(text) == expected


@pytest.mark.parametrize("address, parts", [
    ("localhost:9002", ("localhost", 9002)),
    ("0.0.0.0:0", ("0.0.0.0", 0)),
    ("[::1]:9004", ("::1", 9004)),
])
def test_addresses(address, parts):
    assert split_address(address) == parts
    assert join_address(*parts) == address


@pytest.mark.parametrize("address", ["localhost", "host:", "host:port"])
def test_bad_addresses(address):
    with pytest.raises(ValueError, match="HOST:PORT"):
        split_address(address)


@pytest.fixture
def flaky_registrar():
    """Answers 503 to the first POST and 200 after, recording bodies."""
    bodies = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(503 if len(bodies) == 1 else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", bodies
    server.shutdown()
    server.server_close()
    thread.join()


def test_registration_retries_until_accepted(flaky_registrar):
    url, bodies = flaky_registrar
    waits = []
    assert register(url, "python_1", "127.0.0.1:5", delay=0.25, wait=lambda d: waits.append(d) or False)
    assert bodies == [{"engine_name": "python_1", "address": "127.0.0.1:5"}] * 2
    assert waits == [0.25]


def test_registration_fails_loudly_after_all_attempts():
    waits = []
    with pytest.raises(RegistrationError, match=r"after 10 attempts: ConnectionRefusedError"):
        register(f"127.0.0.1:{free_port()}", "e", "h:1", wait=lambda d: waits.append(d) or False)
    assert waits == [1.0] * 9


def test_registration_stops_waiting_when_the_engine_stops():
    assert register(f"127.0.0.1:{free_port()}", "e", "h:1", wait=lambda d: True) is False
