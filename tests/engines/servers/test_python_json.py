"""The python_json engine server, driven over raw HTTP like nrp-core's client drives it."""

import socket

import pytest

from tests.engines.servers import scripts
from tests.engines.servers.conftest import NLOHMANN_TYPE, engine_config
from tests.ports import free_port

STEP = 10_000_000  # 10 ms in ns


def write_script(tmp_path, source, name="engine.py"):
    (tmp_path / name).write_text(source)


@pytest.fixture
def tf_engine(tmp_path, start_engine, json_client):
    write_script(tmp_path, scripts.TF_EXCHANGE)
    engine = start_engine()
    client = json_client(engine.address)
    # Our extensions are announced here; nrp-core's client ignores the reply.
    assert client.ok("/initialize", engine_config()) == {"Capabilities": ["step"]}
    return engine, client


def datapack_request(name="datapack1", engine="python_1"):
    return {name: {"engine_name": engine, "type": NLOHMANN_TYPE}}


@pytest.mark.timeout(30)
def test_tf_exchange_engine_steps_publishes_and_shuts_down(tmp_path, tf_engine):
    engine, client = tf_engine

    # Before any step (nrp-core syncs every engine at t=0) the datapack holds the initial value.
    assert client.ok("/get_datapacks", datapack_request()) == {
        "datapack1": {"engine_name": "python_1", "type": NLOHMANN_TYPE, "data": {"time": 0, "timestep": 0}}}
    assert client.ok("/run_loop", {"time_step": STEP}) == {"time": STEP}
    assert client.ok("/run_loop", {"time_step": STEP}) == {"time": 2 * STEP}
    reply = client.ok("/get_datapacks", datapack_request())
    assert reply["datapack1"]["data"] == {"time": 2 * STEP, "timestep": STEP}

    assert client.ok("/shutdown", None) is None
    assert engine.wait_exit() == 0
    assert (tmp_path / "shutdown_called").exists()
    assert "Traceback" not in engine.stderr()


@pytest.mark.timeout(30)
def test_set_datapacks_and_empty_datapacks(tmp_path, start_engine, json_client):
    write_script(tmp_path, scripts.RECEIVER)
    engine = start_engine()
    client = json_client(engine.address)
    client.ok("/initialize", engine_config())

    # Registered but never set: an entry with only engine_name and type.
    assert client.ok("/get_datapacks", datapack_request("rec")) == {
        "rec": {"engine_name": "python_1", "type": NLOHMANN_TYPE}}
    data = {"values": [1, 2.5, "x"]}
    sent = {"rec": {"engine_name": "python_1", "type": "any opaque string", "data": data}}
    assert client.ok("/set_datapacks", sent) is None
    assert client.ok("/get_datapacks", {"rec": {"engine_name": "python_1", "type": "other"}}) == {
        "rec": {"engine_name": "python_1", "type": "other", "data": data}}
    # An entry without data empties the datapack again.
    client.ok("/set_datapacks", {"rec": {"engine_name": "python_1", "type": NLOHMANN_TYPE}})
    assert "data" not in client.ok("/get_datapacks", datapack_request("rec"))["rec"]
    assert client.ok("/get_datapacks", {}) == {}


@pytest.mark.timeout(30)
def test_reset_sets_time_back_to_zero(tmp_path, tf_engine):
    _, client = tf_engine
    client.ok("/run_loop", {"time_step": STEP})
    assert client.ok("/reset", "reset") is None
    assert (tmp_path / "reset_called").exists()
    assert client.ok("/get_datapacks", datapack_request())["datapack1"]["data"] == {"time": 0, "timestep": 0}
    assert client.ok("/run_loop", {"time_step": STEP}) == {"time": STEP}


@pytest.mark.timeout(30)
def test_runloop_failure_names_file_and_line_and_engine_keeps_serving(tmp_path, start_engine, json_client):
    write_script(tmp_path, scripts.RECEIVER)
    client = json_client(start_engine().address)
    client.ok("/initialize", engine_config())
    client.ok("/set_datapacks", {"rec": {"engine_name": "python_1", "type": "t", "data": {"fail": True}}})

    status, message = client.post("/run_loop", {"time_step": STEP})
    assert status == 500
    assert 'Engine "python_1"' in message
    assert "engine.py, line 14, in runLoop" in message
    assert "RuntimeError: asked to fail" in message
    # The connection and the engine survive a failed request.
    client.ok("/set_datapacks", {"rec": {"engine_name": "python_1", "type": "t", "data": {}}})
    assert client.ok("/run_loop", {"time_step": STEP}) == {"time": 2 * STEP}


@pytest.mark.timeout(30)
def test_syntax_error_names_file_and_line(tmp_path, start_engine, json_client):
    write_script(tmp_path, scripts.SYNTAX_ERROR)
    client = json_client(start_engine().address)
    status, message = client.post("/initialize", engine_config())
    assert status == 500
    assert 'Engine "python_1"' in message and "engine.py, line 3" in message and "SyntaxError" in message


@pytest.mark.timeout(30)
def test_exception_in_initialize_names_file_and_line(tmp_path, start_engine, json_client):
    write_script(tmp_path, scripts.RAISES_IN_INITIALIZE)
    client = json_client(start_engine().address)
    status, message = client.post("/initialize", engine_config())
    assert status == 500
    assert "engine.py, line 6, in initialize" in message and "RuntimeError: boom" in message
    # Still not initialized: later requests say so instead of touching a half-made script.
    status, message = client.post("/run_loop", {"time_step": STEP})
    assert status == 500 and "not initialized" in message


@pytest.mark.timeout(30)
@pytest.mark.parametrize("source, config, expected", [
    (scripts.NO_SCRIPT_CLASS, engine_config(), "defines no class Script"),
    (scripts.GRPC_TF_EXCHANGE, engine_config(), "Script class must inherit from EngineScript class"),
    (scripts.TF_EXCHANGE, engine_config(python_file="missing.py"), "missing.py\" does not exist"),
    (scripts.TF_EXCHANGE, engine_config(TimeRatio=[1, 1000]), "TimeRatio must be [1, 1000000000]"),
    (scripts.TF_EXCHANGE, {"EngineName": "python_1", "PythonFileName": "engine.py"}, "TimeRatio"),
], ids=["no-Script", "grpc-base", "missing-file", "wrong-time-ratio", "no-time-ratio"])
def test_initialize_rejects(tmp_path, start_engine, json_client, source, config, expected):
    write_script(tmp_path, source)
    client = json_client(start_engine().address)
    status, message = client.post("/initialize", config)
    assert status == 500
    assert 'Engine "python_1"' in message and expected in message


@pytest.mark.timeout(30)
@pytest.mark.parametrize("route, body, expected", [
    ("/get_datapacks", {"datapack1": {"engine_name": "python_2", "type": "t"}},
     'datapack "datapack1" is addressed to engine "python_2", this is engine "python_1"'),
    ("/set_datapacks", {"datapack1": {"engine_name": "python_2", "type": "t", "data": {}}},
     'datapack "datapack1" is addressed to engine "python_2"'),
    ("/get_datapacks", {"nope": {"engine_name": "python_1", "type": "t"}},
     "[python_1] Attempting to get data from an unregistered DataPack (nope)"),
    ("/set_datapacks", {"nope": {"engine_name": "python_1", "type": "t", "data": {}}},
     "[python_1] Attempting to set data on an unregistered DataPack (nope)"),
    ("/run_loop", {"time_step": -1}, "non-negative integer"),
    ("/run_loop", {}, "time_step"),
], ids=["get-wrong-engine", "set-wrong-engine", "get-unregistered", "set-unregistered", "negative-step",
        "no-step"])
def test_bad_requests_answer_500_with_a_message(tf_engine, route, body, expected):
    _, client = tf_engine
    status, message = client.post(route, body)
    assert status == 500
    assert 'Engine "python_1"' in message and expected in message
    assert "engine.py" in message


@pytest.mark.timeout(30)
def test_set_datapacks_is_all_or_nothing(tf_engine):
    _, client = tf_engine
    before = client.ok("/get_datapacks", datapack_request())
    status, _ = client.post("/set_datapacks", {
        "datapack1": {"engine_name": "python_1", "type": "t", "data": {"changed": True}},
        "nope": {"engine_name": "python_1", "type": "t", "data": {}}})
    assert status == 500
    assert client.ok("/get_datapacks", datapack_request()) == before


@pytest.mark.timeout(30)
def test_requests_before_initialize_and_after_shutdown(tmp_path, start_engine, json_client):
    write_script(tmp_path, scripts.TF_EXCHANGE)
    engine = start_engine()
    client = json_client(engine.address)
    status, message = client.post("/get_datapacks", datapack_request())
    assert status == 500 and "not initialized" in message
    client.ok("/initialize", engine_config())
    status, message = client.post("/initialize", engine_config())
    assert status == 500 and "already initialized" in message
    client.ok("/shutdown", None)
    assert engine.wait_exit() == 0


@pytest.mark.timeout(30)
def test_unknown_route_and_method(tf_engine):
    _, client = tf_engine
    status, _ = client.post("/nope", None)
    assert status == 404
    client.connection.request("GET", "/run_loop")
    response = client.connection.getresponse()
    response.read()
    assert response.status == 405


def raw_exchange(address: str, request: bytes, expect: bytes = b"") -> bytes:
    """Send raw bytes; read until the connection closes (requests end with Connection: close)."""
    host, _, port = address.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        if expect:
            head, _, body = request.partition(b"\r\n\r\n")
            sock.sendall(head + b"\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
            sock.sendall(body)
        else:
            sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


@pytest.mark.timeout(30)
def test_chunked_and_expect_100_continue_bodies(tf_engine):
    engine, _ = tf_engine
    chunked = (b"POST /run_loop HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/json\r\n\r\n"
               b"5\r\n{\"tim\r\n12;ext=1\r\ne_step\": 10000000}\r\n0\r\n\r\n"
               b"POST /run_loop HTTP/1.1\r\nContent-Length: 16\r\nConnection: close\r\n\r\n"
               b'{"time_step": 0}')
    reply = raw_exchange(engine.address, chunked)
    # Two responses on one connection, the second after a chunked first request.
    assert reply.count(b"HTTP/1.1 200 OK") == 2 and reply.endswith(b'{"time": 10000000}')

    body = b'{"time_step": 10000000}'
    expecting = (b"POST /run_loop HTTP/1.1\r\nExpect: 100-continue\r\nConnection: close\r\n"
                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    reply = raw_exchange(engine.address, expecting, expect=b"100")
    assert reply.startswith(b"HTTP/1.1 200 OK\r\n") and reply.endswith(b'{"time": 20000000}')


@pytest.mark.timeout(30)
def test_keep_alive_without_nagle_delays(tf_engine):
    _, client = tf_engine
    client.ok("/run_loop", {"time_step": 1})
    sock = client.connection.sock
    for _ in range(200):
        client.ok("/get_datapacks", datapack_request())
    # One connection throughout; no 40 ms Nagle/delayed-ACK stalls on it, since the server turns
    # Nagle off on every connection (test_http_server.py).
    assert client.connection.sock is sock


@pytest.mark.timeout(30)
def test_bad_http_gets_400_and_a_closed_connection(tf_engine):
    engine, _ = tf_engine
    assert raw_exchange(engine.address, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")


@pytest.mark.timeout(30)
def test_step_extension_sets_steps_and_gets_in_one_request(tmp_path, start_engine, json_client):
    write_script(tmp_path, scripts.TF_EXCHANGE)
    write_script(tmp_path, scripts.RECEIVER, name="receiver.py")
    engine = start_engine()
    client = json_client(engine.address)
    client.ok("/initialize", engine_config(PythonFileName="receiver.py"))

    reply = client.ok("/step", {"set": {"rec": {"engine_name": "python_1", "type": NLOHMANN_TYPE, "data": {"x": 1}}},
                                "time_step": STEP, "get": datapack_request("rec")})

    assert reply == {"time": STEP, "datapacks": {"rec": {"engine_name": "python_1", "type": NLOHMANN_TYPE,
                                                          "data": {"x": 1}}}}
    # A failing step inside /step is reported like /run_loop's, naming the script's line.
    status, message = client.post("/step", {"set": {"rec": {"engine_name": "python_1", "type": NLOHMANN_TYPE,
                                                            "data": {"fail": True}}}, "time_step": STEP, "get": {}})
    assert status == 500 and "receiver.py, line 14" in message and "asked to fail" in message


@pytest.mark.timeout(30)
def test_shutdown_before_initialize_just_exits(start_engine, json_client):
    engine = start_engine()
    client = json_client(engine.address)

    assert client.ok("/shutdown", None) is None
    assert engine.wait_exit() == 0
    assert "Traceback" not in engine.stderr()


@pytest.mark.timeout(30)
def test_engines_starting_together_on_one_port_all_come_up(start_engine):
    port = free_port()
    # Both engines of a config that leaves ServerAddress at its default race for the same port.
    engines = [start_engine(name=f"python_{i}", serverurl=f"127.0.0.1:{port}") for i in range(2)]
    assert len({engine.address for engine in engines}) == 2
