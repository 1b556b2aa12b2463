"""Trivial servers that answer at once: the round-trip floor that benchmarks compare against.

    python benchmarks/_trivial_servers.py grpc|http   → prints the port, serves until killed
"""

import json
import socket
import sys
from concurrent import futures
from http.server import BaseHTTPRequestHandler, HTTPServer


def serve_grpc() -> None:
    import grpc

    from nrp_protobuf import engine_grpc_pb2 as pb
    from nrp_protobuf import engine_grpc_pb2_grpc as pb_grpc

    class Engine(pb_grpc.EngineGrpcServiceServicer):
        def runLoopStep(self, request, context):  # noqa: N802
            return pb.RunLoopStepReply(engineTime=request.timeStep)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_EngineGrpcServiceServicer_to_server(Engine(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination()


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        payload = json.dumps({"time": body.get("time_step", 0)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def serve_http() -> None:
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    {"grpc": serve_grpc, "http": serve_http}[sys.argv[1]]()
