"""Connection against a real server: requests, the error classes, unreachable servers."""

import json
import socket
import threading

import pytest

from nrp_jupyter.notebook.client import (BadRequest, Connection, Forbidden, NotFound, NrpError,
                                         ServerUnreachable, StateTransitionError)
from tests.ports import free_port

pytestmark = pytest.mark.timeout(60)


def test_version_and_list(connection):
    assert connection.version()["nrp_jupyter"]
    assert isinstance(connection.simulations(), list)


def test_url_gets_a_trailing_slash_and_keeps_its_base_path():
    connection = Connection("http://127.0.0.1:9/user/ann", "secret")
    assert connection.url == "http://127.0.0.1:9/user/ann/"
    assert connection.events_url() == "ws://127.0.0.1:9/user/ann/nrp/events"
    assert connection.events_url(7) == "ws://127.0.0.1:9/user/ann/nrp/events?simulation=7"
    assert (connection.events_url(7, include_token=True)
            == "ws://127.0.0.1:9/user/ann/nrp/events?simulation=7&token=secret")
    assert Connection("https://hub.example.org/").events_url() == "wss://hub.example.org/nrp/events"


def test_headers_carry_the_token_and_repr_hides_it():
    assert Connection("http://localhost:1/", "abc").headers() == {"Authorization": "token abc"}
    assert Connection("http://localhost:1/").headers() == {}
    assert "abc" not in repr(Connection("http://localhost:1/", "abc"))


@pytest.mark.parametrize("url", ["localhost:8888", "ftp://host/", "http://", ""])
def test_a_url_that_is_not_http_is_refused(url):
    with pytest.raises(ValueError, match="not an http"):
        Connection(url)


def test_unknown_simulation_is_not_found_with_nrps_body(connection):
    with pytest.raises(NotFound) as caught:
        connection.request("GET", "simulation/987654/state")
    error = caught.value
    assert (error.status, error.type) == (404, "Client error")
    assert error.message == "The simulation with the given ID was not found"
    assert error.body == {"message": error.message, "type": "Client error", "data": None}
    assert "HTTP 404" in str(error) and "simulation/987654/state" in str(error)


def test_bad_body_is_a_bad_request_naming_the_key(connection):
    with pytest.raises(BadRequest) as caught:
        connection.request("POST", "simulation", body={"experiment": "tf_exchange"})
    assert caught.value.status == 400
    assert caught.value.message == "experimentID not given."
    assert not isinstance(caught.value, StateTransitionError)


def test_wrong_token_is_forbidden(server):
    with Connection(server.url, "not-the-token") as wrong, pytest.raises(Forbidden) as caught:
        wrong.version()
    assert caught.value.status == 403
    assert "token" in caught.value.message


def test_no_token_is_forbidden(server):
    with Connection(server.url) as anonymous, pytest.raises(Forbidden):
        anonymous.simulations()


def test_a_route_that_does_not_exist_says_so(connection):
    with pytest.raises(NotFound) as caught:
        connection.request("GET", "no/such/route")
    # The server answers unknown paths under nrp/ with NRP's error body, naming the path.
    assert caught.value.type == "Client error"
    assert "/nrp/no/such/route" in caught.value.message


def test_nothing_listening_is_unreachable():
    port = free_port()
    with Connection(f"http://127.0.0.1:{port}/", "t") as nowhere, pytest.raises(ServerUnreachable) as caught:
        nowhere.version()
    assert caught.value.status is None
    assert f"127.0.0.1:{port}" in str(caught.value)


def test_a_server_that_never_answers_times_out():
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with Connection(url) as connection, pytest.raises(ServerUnreachable, match="within 0.5 s"):
            connection.request("GET", "version", timeout=0.5)


def test_a_connection_closed_by_the_server_is_reopened(connection, server):
    """A kept-alive connection the server has dropped is replaced without the caller noticing."""
    connection.version()
    connection._http.sock.shutdown(socket.SHUT_RDWR)
    assert connection.version()["nrp_jupyter"]


def test_an_answer_that_is_not_json_is_an_error():
    """A plain web server where a Jupyter server was expected."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()

    def answer_once():
        peer, _ = listener.accept()
        with peer:
            peer.recv(65536)
            peer.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")

    thread = threading.Thread(target=answer_once, daemon=True)
    thread.start()
    try:
        with Connection(f"http://127.0.0.1:{listener.getsockname()[1]}/") as connection:
            with pytest.raises(NrpError, match="not JSON"):
                connection.version()
    finally:
        thread.join(5)
        listener.close()


def test_requests_from_several_threads_share_the_connection(connection):
    results, errors = [], []

    def ask():
        try:
            for _ in range(5):
                results.append(json.dumps(connection.version()))
        except Exception as error:  # noqa: BLE001 (collected for the assertion)
            errors.append(error)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    assert len(results) == 20 and len(set(results)) == 1
