"""NRPCoreSim's server mode: the `NrpCore` gRPC service in front of a SimulationManager.

Requests are queued and executed one at a time on the thread that calls `RequestQueue.serve`
(the main thread), as nrp-core does; `stopLoop` is answered at once on the gRPC thread so that it
can interrupt a running request. An illegal request ends with status CANCELLED; an exception
during an action answers OK with state `Failed` and the error message.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading

import grpc

from nrp_protobuf import nrp_server_pb2 as pb
from nrp_protobuf import nrp_server_pb2_grpc as pb_grpc

from .datapacks import load_payload_modules
from .errors import IllegalRequest
from .manager import SimulationManager
from .trajectory import datapacks_from, trajectory_message

log = logging.getLogger(__name__)


class ShuttingDown(Exception):
    """The server is exiting; pending requests are abandoned."""


class RequestQueue:
    """Hands requests from gRPC threads to the serving thread."""

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self.closed = threading.Event()

    def call(self, function):
        if self.closed.is_set():
            raise ShuttingDown()
        future: concurrent.futures.Future = concurrent.futures.Future()
        self._jobs.put((function, future))
        return future.result()

    def serve(self, until: threading.Event) -> None:
        while not until.is_set():
            try:
                function, future = self._jobs.get(timeout=0.1)
            except queue.Empty:
                continue
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function())
            except BaseException as error:
                future.set_exception(error)
                if not isinstance(error, Exception):
                    raise

    def close(self) -> None:
        self.closed.set()
        while True:
            try:
                _, future = self._jobs.get_nowait()
            except queue.Empty:
                return
            if future.set_running_or_notify_cancel():
                future.set_exception(ShuttingDown())


class NrpCoreServicer(pb_grpc.NrpCoreServicer):
    def __init__(self, manager: SimulationManager, requests: RequestQueue):
        self._manager = manager
        self._requests = requests

    def _state(self) -> pb.SimStateMessage:
        return pb.SimStateMessage(currentState=self._manager.state.value, errorMsg=self._manager.error)

    def _execute(self, context, action):
        """Runs `action` on the serving thread; returns its result, or None if it failed."""
        try:
            return self._requests.call(action), True
        except IllegalRequest as error:
            context.abort(grpc.StatusCode.CANCELLED, str(error))
        except ShuttingDown:
            context.abort(grpc.StatusCode.UNAVAILABLE, "NRPCoreSim is shutting down")
        except Exception:  # noqa: BLE001 (the manager recorded it; the client reads state Failed)
            return None, False

    def initialize(self, request, context):
        trajectory, ok = self._execute(context, self._manager.initialize)
        return pb.InitializeResponse(simState=self._state(), trajectory=trajectory_message(trajectory or []))

    def runLoop(self, request, context):  # noqa: N802 (the proto's name)
        def run():
            return self._manager.run_loop(request.numIterations, datapacks_from(request.dataPacks))
        result, ok = self._execute(context, run)
        done, trajectory = result if ok else (False, [])
        return pb.RunLoopResponse(simState=self._state(), doneFlag=done, timeoutFlag=False,
                                  trajectory=trajectory_message(trajectory))

    def runUntilTimeout(self, request, context):  # noqa: N802
        result, ok = self._execute(context, self._manager.run_until_timeout)
        done, timed_out, trajectory = result if ok else (False, False, [])
        return pb.RunLoopResponse(simState=self._state(), doneFlag=done, timeoutFlag=timed_out,
                                  trajectory=trajectory_message(trajectory))

    def stopLoop(self, request, context):  # noqa: N802
        try:
            self._manager.stop()
        except IllegalRequest as error:
            context.abort(grpc.StatusCode.CANCELLED, str(error))
        return pb.Response(simState=self._state())

    def reset(self, request, context):
        trajectory, ok = self._execute(context, lambda: self._manager.reset(datapacks_from(request.dataPacks)))
        return pb.ResetResponse(simState=self._state(), trajectory=trajectory_message(trajectory or []))

    def shutdown(self, request, context):
        self._execute(context, self._manager.shutdown)
        return pb.Response(simState=self._state())


def create_server(manager: SimulationManager, requests: RequestQueue, address: str) -> tuple[grpc.Server, int]:
    """Builds the server; raises OSError naming the address if it cannot be bound."""
    load_payload_modules()
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="nrpcore-rpc"))
    pb_grpc.add_NrpCoreServicer_to_server(NrpCoreServicer(manager, requests), server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as error:
        raise OSError(f"cannot listen on {address}: {error}") from None
    if port == 0:
        raise OSError(f"cannot listen on {address} (address in use?)")
    return server, port
