"""A local stand-in for the Jupyter server's side that a control panel talks to: the /events
WebSocket and the two REST reads (`GET simulation/<id>/details` and `.../logs`).

It is a fake on purpose: it pushes frames in numbers, at rates and in formats (datapack streams,
malformed frames) that a real simulation cannot be made to produce on demand. The panel and the
real `nrp_jupyter.notebook.client` talk to it over real sockets.
"""

import json
import threading
from collections.abc import Callable

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Response
from websockets.sync.server import ServerConnection, serve


def frame(simulation_id: int, leaf: str, payload) -> str:
    """A frame as the server sends it, with the full MQTT topic."""
    return json.dumps({"simulationID": simulation_id, "topic": f"nrp_simulation/{simulation_id}/{leaf}",
                       "payload": payload})


def status(simulation_id: int, state: str, sim_time: float, left: float = 0.0, real: float | None = None) -> str:
    return frame(simulation_id, "status", {"realTime": sim_time if real is None else real, "simulationTime": sim_time,
                                           "state": state, "simulationTimeLeft": left})


class FrameServer:
    """`on_connect(socket, connection_number)` runs for each WebSocket client; then the socket
    stays open until the client leaves or the server stops."""

    def __init__(self, simulation_id: int = 1, *, state: str = "paused",
                 on_connect: Callable[[ServerConnection, int], None] | None = None):
        self.simulation_id = simulation_id
        self.info = {"simulationID": simulation_id, "experimentID": "fake_experiment", "state": state}
        self.logs = {"simulationID": simulation_id, "files": [{"name": "simulation.log", "content": "started\n"}]}
        # What `GET simulation/<id>/steering` answers: the declared steering controls.
        self.steering = {"controls": []}
        self.on_connect = on_connect or (lambda socket, number: None)
        self.requests: list[str] = []
        self.connections = 0
        self.refuse_with: int | None = None
        self._lock = threading.Lock()
        self._server = None
        self._thread = None
        self._sockets: set[ServerConnection] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.socket.getsockname()[1]}/"

    def start(self) -> "FrameServer":
        self._server = serve(self._handle, "127.0.0.1", 0, process_request=self._answer_http, compression=None)
        self._thread = threading.Thread(target=self._server.serve_forever, name="frame-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(5)
        self.drop_connections()

    def drop_connections(self) -> None:
        """Closes every open WebSocket, as a server restart or a proxy timeout would."""
        with self._lock:
            sockets = list(self._sockets)
        for socket in sockets:
            socket.close()

    def _answer_http(self, connection, request):
        with self._lock:
            self.requests.append(request.path)
        if self.refuse_with is not None:
            return _json_response(self.refuse_with, {"message": "refused by the test", "type": "Client error",
                                                     "data": None})
        if request.headers.get("Upgrade", "").lower() == "websocket":
            return None
        path = request.path.split("?")[0]
        if path == f"/nrp/simulation/{self.simulation_id}/details":
            return _json_response(200, self.info)
        if path == f"/nrp/simulation/{self.simulation_id}/logs":
            return _json_response(200, self.logs)
        if path == f"/nrp/simulation/{self.simulation_id}/steering":
            return _json_response(200, self.steering)
        return _json_response(404, {"message": f"no route {path}", "type": "Client error", "data": None})

    def _handle(self, socket: ServerConnection) -> None:
        with self._lock:
            self.connections += 1
            number = self.connections
            self._sockets.add(socket)
        try:
            self.on_connect(socket, number)
            for _ in socket:  # the panel sends nothing; this returns when either side closes
                pass
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._sockets.discard(socket)


def _json_response(status: int, body) -> Response:
    data = json.dumps(body).encode()
    reason = {200: "OK", 403: "Forbidden", 404: "Not Found"}.get(status, "Error")
    return Response(status, reason, Headers([("Content-Type", "application/json"),
                                             ("Content-Length", str(len(data))), ("Connection", "close")]), data)
