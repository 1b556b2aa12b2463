"""Per-request latency of the engine servers beside trivial echo servers, in one run.

    .venv/bin/python -m tests.engines.servers.latency [--calls 5000]

Every server is its own process on loopback; the client is this process, with one keep-alive
HTTP connection (http.client) or one gRPC channel, one request in flight, the servers taking
turns in rounds. Baselines:
- a trivial HTTP echo server: raw sockets, no parsing beyond Content-Length, TCP_NODELAY;
- tornado echoing the JSON body (the HTTP server of dependencies.md section 3);
- a trivial gRPC echo servicer (bytes in, bytes out) with the engine's thread pool size.
"""

import argparse
import functools
import http.client
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import grpc

from nrp_protobuf import engine_grpc_pb2, engine_grpc_pb2_grpc
from tests.engines.servers import scripts
from tests.engines.servers.conftest import TIME_RATIO, Registrar, engine_env

RAW_HTTP_ECHO = r"""
import socket, threading, sys
def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    rfile = conn.makefile("rb")
    while True:
        length = 0
        line = rfile.readline()
        if not line:
            return
        while line not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
            line = rfile.readline()
        body = rfile.read(length)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

TORNADO_ECHO = r"""
import asyncio, socket, tornado.web
class Echo(tornado.web.RequestHandler):
    def post(self, path):
        self.set_header("Content-Type", "application/json")
        self.write(self.request.body)
async def main():
    sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
    server = tornado.httpserver.HTTPServer(tornado.web.Application([(r"/(.*)", Echo)]))
    server.add_sockets(sockets)
    print(sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
import tornado.httpserver, tornado.netutil
asyncio.run(main())
"""

GRPC_ECHO = r"""
import grpc, sys
from concurrent import futures
echo = grpc.unary_unary_rpc_method_handler(lambda request, context: request)
handler = grpc.method_handlers_generic_handler("Echo", {"echo": echo})
server = grpc.server(futures.ThreadPoolExecutor(4), handlers=[handler], options=[("grpc.so_reuseport", 0)])
port = server.add_insecure_port("127.0.0.1:0")
server.start()
print(port, flush=True)
server.wait_for_termination()
"""


def measure(calls: dict[str, Callable[[], object]], total: int, rounds: int = 10) -> dict[str, list[float]]:
    """Durations (s) of each call; the calls take turns, `total / rounds` at a time, so that a
    change of background load during the run hits every server alike."""
    for call in calls.values():
        for _ in range(200):  # warm-up
            call()
    durations: dict[str, list[float]] = {label: [] for label in calls}
    for _ in range(rounds):
        for label, call in calls.items():
            for _ in range(total // rounds):
                start = time.perf_counter()
                call()
                durations[label].append(time.perf_counter() - start)
    return durations


def start_printing_port(code: str, cwd: str) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=cwd, env=engine_env(), stdout=subprocess.PIPE)
    return proc, int(proc.stdout.readline())


def start_engine(protocol: str, cwd: str, registrar: Registrar) -> tuple[subprocess.Popen, str]:
    stderr_path = Path(cwd) / f"{protocol}.stderr"
    with open(stderr_path, "wb") as stderr:
        args = ["--engine=python_1", "--serverurl=127.0.0.1:0", f"--regservurl={registrar.url}"]
        proc = subprocess.Popen([sys.executable, "-m", f"engines.servers.python_{protocol}", *args],
                                cwd=cwd, env=engine_env(), stdout=subprocess.DEVNULL, stderr=stderr)
    return proc, registrar.wait(proc, stderr_path)["address"]


def http_poster(port: int):
    conn = http.client.HTTPConnection("127.0.0.1", port)

    def post(path: str, body) -> object:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        response = conn.getresponse()
        if response.status != 200:
            raise RuntimeError(response.read())
        return json.loads(response.read())

    return conn, post


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=5000, help="calls per server, over 10 rounds")
    total = parser.parse_args().calls
    procs: list[subprocess.Popen] = []
    closers: list[Callable[[], None]] = []
    registrar = Registrar()
    config = {"EngineName": "python_1", "PythonFileName": "engine.py", "TimeRatio": TIME_RATIO}
    step_body = {"time_step": 10_000_000}
    get_body = {"datapack1": {"engine_name": "python_1", "type": "t"}}
    calls: dict[str, Callable[[], object]] = {}
    try:
        with tempfile.TemporaryDirectory() as cwd:
            for label, code in [("HTTP baseline: raw-socket echo", RAW_HTTP_ECHO),
                                ("HTTP baseline: tornado echo", TORNADO_ECHO)]:
                proc, port = start_printing_port(code, cwd)
                procs.append(proc)
                conn, post = http_poster(port)
                closers.append(conn.close)
                calls[label] = functools.partial(post, "/run_loop", step_body)

            quiet = scripts.TF_EXCHANGE.replace('print("step", self._time_ns)', "pass")
            (Path(cwd) / "engine.py").write_text(quiet)
            proc, address = start_engine("json", cwd, registrar)
            procs.append(proc)
            conn, post = http_poster(int(address.rpartition(":")[2]))
            closers.append(conn.close)
            post("/initialize", config)
            calls["python_json engine: /run_loop"] = functools.partial(post, "/run_loop", step_body)
            calls["python_json engine: /get_datapacks"] = functools.partial(post, "/get_datapacks", get_body)

            proc, port = start_printing_port(GRPC_ECHO, cwd)
            procs.append(proc)
            channel = grpc.insecure_channel(f"127.0.0.1:{port}")
            closers.append(channel.close)
            payload = engine_grpc_pb2.RunLoopStepRequest(timeStep=10_000_000).SerializeToString()
            echo = channel.unary_unary("/Echo/echo")
            calls["gRPC baseline: echo servicer"] = functools.partial(echo, payload)

            (Path(cwd) / "engine.py").write_text(scripts.GRPC_TF_EXCHANGE)
            proc, address = start_engine("grpc", cwd, registrar)
            procs.append(proc)
            channel = grpc.insecure_channel(address)
            closers.append(channel.close)
            stub = engine_grpc_pb2_grpc.EngineGrpcServiceStub(channel)
            stub.initialize(engine_grpc_pb2.InitializeRequest(json=json.dumps(config)))
            ids = engine_grpc_pb2.GetDataPacksRequest(datapackIds=[
                engine_grpc_pb2.DataPackIdentifier(dataPackName="datapack1", engineName="python_1")])
            calls["python_grpc engine: runLoopStep"] = functools.partial(
                stub.runLoopStep, engine_grpc_pb2.RunLoopStepRequest(timeStep=10_000_000))
            calls["python_grpc engine: getDataPacks"] = functools.partial(stub.getDataPacks, ids)

            durations = measure(calls, total)
    finally:
        for close in closers:
            close()
        for proc in procs:
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        registrar.close()

    print(f"{'server: request':40} {'median µs':>10} {'p99 µs':>10}   ({total} calls each, interleaved)")
    for label, values in durations.items():
        values.sort()
        median, p99 = statistics.median(values), values[int(len(values) * 0.99)]
        print(f"{label:40} {median * 1e6:10.0f} {p99 * 1e6:10.0f}")


if __name__ == "__main__":
    main()
