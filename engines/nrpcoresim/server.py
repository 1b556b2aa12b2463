"""NRPCoreSim's server mode: the `NrpCore` gRPC service in front of a SimulationManager.

Requests are queued and executed one at a time on the thread that calls `RequestQueue.serve`
(the main thread), as nrp-core does; `stopLoop` is answered at once on the gRPC thread so that it
can interrupt a running request. An illegal request ends with status CANCELLED; an exception
during an action answers OK with state `Failed` and the error message (nrp-core's `errorMsg`), and
the kind of error as fields in the trailing metadata (engines.errors.FailureDetail), which nrp-client
does not read; datapacks that cannot be read end the request with INVALID_ARGUMENT before it is queued.

A `shutdown` request ends the server whatever its outcome, as in nrp-core: refused in `Created`
(CANCELLED) or not, the server stops listening before it answers and NRPCoreSim then exits. So a
client that discards its connection with a shutdown request (nrp-client's `__del__` does) frees
the address for the next server even when the request was refused.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import threading
import time

import grpc

from engines.datapacks import load_payload_modules
from engines.errors import IllegalRequest, NrpCoreError, failure_detail
from engines.nrpcoresim.manager import SimulationManager
from engines.nrpcoresim.steering_service import SteeringServicer
from engines.nrpcoresim.trajectory import datapacks_from, trajectory_message
from nrp_protobuf import nrp_server_pb2 as pb
from nrp_protobuf import nrp_server_pb2_grpc as pb_grpc
from nrp_protobuf import nrp_steering_pb2_grpc as steering_grpc

log = logging.getLogger(__name__)

# In-flight requests get this long to answer once the server stops (the shutdown reply among them).
STOP_GRACE_S = 1.0
LISTENER_CLOSE_TIMEOUT_S = 2.0


class ShuttingDown(Exception):
    """The server is exiting; pending requests are abandoned."""


class RequestQueue:
    """Hands requests from gRPC threads to the serving thread."""

    def __init__(self):
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.closed = threading.Event()

    def call(self, function):
        future: concurrent.futures.Future = concurrent.futures.Future()
        # Under the lock, so that no job slips in after close() has drained the queue.
        with self._lock:
            if self.closed.is_set():
                raise ShuttingDown()
            self._jobs.put((function, future))
        return future.result()

    def post(self, function) -> None:
        """Runs `function` after the requests queued before it, without waiting for it; its errors
        are logged."""
        def logged():
            try:
                function()
            except Exception:
                log.exception("a posted job failed")

        with self._lock:
            if self.closed.is_set():
                raise ShuttingDown()
            self._jobs.put((logged, concurrent.futures.Future()))

    def serve(self) -> None:
        """Runs requests on the calling thread until `close()`."""
        while True:
            job = self._jobs.get()
            if job is None:
                return
            function, future = job
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(function())
            except BaseException as error:
                future.set_exception(error)
                if not isinstance(error, Exception):
                    raise

    def close(self) -> None:
        """Refuses further requests, fails the queued ones and ends `serve`; safe to call twice."""
        with self._lock:
            self.closed.set()
            pending = []
            while True:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is not None:
                    pending.append(job)
            self._jobs.put(None)
        for _, future in pending:
            if future.set_running_or_notify_cancel():
                future.set_exception(ShuttingDown())


class NrpCoreServicer(pb_grpc.NrpCoreServicer):
    def __init__(self, manager: SimulationManager, requests: RequestQueue, end=lambda: None):
        self._manager = manager
        self._requests = requests
        # Stops the server: called by a shutdown request before it answers.
        self._end = end

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
        except Exception as error:  # noqa: BLE001 (the manager recorded it; the client reads state Failed)
            context.set_trailing_metadata(failure_detail(error).to_metadata())
            return None, False

    def initialize(self, request, context):
        trajectory, ok = self._execute(context, self._manager.initialize)
        return pb.InitializeResponse(simState=self._state(), trajectory=trajectory_message(trajectory or []))

    def runLoop(self, request, context):  # noqa: N802 (the proto's name)
        datapacks = _datapacks_or_abort(request.dataPacks, context)
        result, ok = self._execute(context, lambda: self._manager.run_loop(request.numIterations, datapacks))
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
        datapacks = _datapacks_or_abort(request.dataPacks, context)
        trajectory, ok = self._execute(context, lambda: self._manager.reset(datapacks))
        return pb.ResetResponse(simState=self._state(), trajectory=trajectory_message(trajectory or []))

    def shutdown(self, request, context):
        try:
            self._execute(context, self._manager.shutdown)
        finally:
            # Before the answer (an abort included) leaves: once the client has it, the address is free.
            self._end()
        return pb.Response(simState=self._state())


def _await_listener_closed(port: int) -> None:
    """Returns once this process no longer listens on `port`: gRPC closes its listening socket
    asynchronously, now and then some milliseconds after `stop()` has returned."""
    import psutil

    me = psutil.Process()
    deadline = time.monotonic() + LISTENER_CLOSE_TIMEOUT_S
    while any(connection.status == psutil.CONN_LISTEN and connection.laddr and connection.laddr.port == port
              for connection in me.net_connections("inet")):
        if time.monotonic() > deadline:
            log.warning("the server still listens on port %d %.1f s after it stopped", port,
                        LISTENER_CLOSE_TIMEOUT_S)
            return
        time.sleep(0.002)


def _datapacks_or_abort(message: pb.DataPacks, context) -> list:
    try:
        return datapacks_from(message)
    except NrpCoreError as error:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))


def create_server(manager: SimulationManager, requests: RequestQueue, address: str) -> tuple[grpc.Server, int]:
    """Builds the server; raises OSError naming the address if it cannot be bound.

    The address is exclusively ours: without SO_REUSEPORT a second NRPCoreSim given the same port
    fails at once, instead of sharing it and answering some of the first one's clients.
    """
    load_payload_modules()
    # Beside a run and a stopLoop: a steering watch stream (held for the whole run), steer and read calls.
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="nrpcore-rpc"),
                         options=[("grpc.so_reuseport", 0)])

    def end() -> None:
        server.stop(STOP_GRACE_S)
        requests.close()
        if not address.startswith(("unix:", "unix-abstract:")):
            _await_listener_closed(port)

    pb_grpc.add_NrpCoreServicer_to_server(NrpCoreServicer(manager, requests, end), server)
    # Our extension, not nrp-core's (protos/nrp_steering.proto); nrp-client never calls it.
    steering_grpc.add_SteeringServiceServicer_to_server(SteeringServicer(manager, requests), server)
    try:
        port = server.add_insecure_port(address)
    except RuntimeError as error:
        raise OSError(f"cannot listen on {address}: {error}") from None
    if port == 0:
        raise OSError(f"cannot listen on {address} (address in use?)")
    return server, port
