"""`NrpCore`: the Python client of NRPCoreSim's server mode, call-compatible with nrp-client 1.4.

Same constructor, methods, return shapes and error mapping as `nrp_client.NrpCore` 1.4.0:

    initialize()                          -> trajectory
    run_loop(n, run_async=False, response=None)
                                          -> (done, trajectory) | Thread appending the raw response
    run_until_timeout(run_async=False, response=None)
                                          -> (done, timeout, trajectory) | Thread
    stop() / shutdown()                   -> None
    reset()                               -> trajectory
    current_state()                       -> "Created" | "Initialized" | "Stopped" | ... (last seen)
    set_json_datapack / set_proto_datapack buffer datapacks for the next run_loop() or reset()

    state "Failed" in a reply  -> RequestFailed, a RuntimeError('Request failed with error "<msg>". ...')
    gRPC CANCELLED (illegal)   -> ServerConnectionError, a ConnectionError("Can't process request")
    gRPC UNAVAILABLE           -> ServerConnectionError, a ConnectionError("NRP Server is unavailable")
    request on a closed client -> ClientClosed, a ChildProcessError

The errors refine nrp-client's built-in ones and go by their names and words, so that code written
for nrp-client sees what it would see, and a caller here can still tell by type what went wrong:
RequestFailed also carries NRPCoreSim's errorMsg and, from this project's NRPCoreSim, the kind of
failure (engines.errors.FailureDetail).

Where it differs, on purpose:
- NRPCoreSim is started with `subprocess.Popen` (the script next to `sys.executable` first, then
  PATH), with `NRP_PARENT_PID` set so the server can exit when this process dies without cleaning up.
- Readiness is polled in 50 ms slices while watching the child: a server up in 300 ms is used at
  once, and a child that dies is reported at once (ChildProcessError with its exit code and the tail
  of its log) instead of being taken for a running server.
- NRPCoreSim is never left running: `shutdown()` always ends the child (SIGTERM, SIGKILL after a
  grace period), even when the shutdown request itself is refused (NRPCoreSim exits after any
  shutdown request anyway, as nrp-core's does, but may not have yet); `close()`, `with NrpCore(...)`
  and a `weakref.finalize` (which also runs at interpreter exit) do the same without raising.
- Docker and docker-compose launchers are not supported (NotImplementedError).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from importlib import import_module
from typing import Any

import grpc
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import Message

from engines.errors import FailureDetail
from nrp_protobuf.engine_grpc_pb2 import DataPackMessage
from nrp_protobuf.nrp_server_pb2 import EmptyMessage, JsonMessage, ResetMessage, RunLoopMessage
from nrp_protobuf.nrp_server_pb2_grpc import NrpCoreStub
from nrp_protobuf.proto_modules import proto_modules

log = logging.getLogger(__name__)

# Short reconnect backoff: the default (1 s, growing) would add up to a second to every start-up,
# since the first connection attempt usually precedes the server's bind.
_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 50),
    ("grpc.min_reconnect_backoff_ms", 50),
    ("grpc.max_reconnect_backoff_ms", 100),
]
_READY_SLICE = 0.05  # seconds between liveness checks while waiting for the server
_PROBE_METHOD = "/NrpCore.NrpCore/readinessProbe"
_LOG_TAIL_LINES = 20


# -- errors ---------------------------------------------------------------------------------------

def _named_as_nrp_client_raises(cls: type[Exception]) -> type[Exception]:
    """The class goes by the name of the built-in error it refines, which nrp-client raises in its
    place: scripts and NRP's runtime_error messages (`RuntimeError: Request failed ...`) show it."""
    builtin = next(base for base in cls.__mro__[1:] if base.__module__ == "builtins")
    cls.__name__ = cls.__qualname__ = builtin.__name__
    return cls


@_named_as_nrp_client_raises
class RequestFailed(RuntimeError):
    """A request left NRPCoreSim in state Failed (nrp-client raises a RuntimeError with these words).

    `error_msg` is NRPCoreSim's account (nrp-core's `errorMsg`); `failure` is the kind of failure
    when NRPCoreSim says it (this project's does; nrp-core's does not).
    """

    def __init__(self, error_msg: str, failure: FailureDetail | None = None) -> None:
        self.error_msg = error_msg
        self.failure = failure
        super().__init__(f"Request failed with error \"{error_msg}\". "
                         "The only possible action now is \"shutdown()\".")


@_named_as_nrp_client_raises
class ServerConnectionError(ConnectionError):
    """NRPCoreSim did not take a request: it refused it, it is unavailable, or the channel is closed."""


@_named_as_nrp_client_raises
class ClientClosed(ChildProcessError):
    """A request on a client whose NRPCoreSim has been shut down."""


# -- the NRPCoreSim process -------------------------------------------------------------------------

def find_nrpcoresim() -> str:
    """The `NRPCoreSim` script of this environment (next to sys.executable), else the one on PATH."""
    beside = os.path.join(os.path.dirname(sys.executable), "NRPCoreSim")
    if os.access(beside, os.X_OK):
        return beside
    on_path = shutil.which("NRPCoreSim")
    if on_path is None:
        raise FileNotFoundError(
            f"NRPCoreSim: not found next to {sys.executable} nor on PATH; install nrp-jupyter "
            "(pip install -e .) in the environment that runs this client")
    return on_path


def server_command(config_file: str, address: str, args: str, log_output: str, experiment_folder: str,
                   executable: str | None = None) -> list[str]:
    """NRPCoreSim's command line, argument for argument as nrp-client 1.4 builds it.

    `args` is split on single spaces with no shell quoting, as nrp-client does, so quotes in
    `-o Key=\\"value\\"` reach NRPCoreSim as typed and the value is parsed as JSON there.
    """
    command = [executable or find_nrpcoresim(), "-c", config_file, "-m", "server",
               "--server_address", address]
    if args:
        command += args.split(" ")
    if log_output:
        command += ["--logoutput=all", f"--logfilename={log_output}"]
    command.append("--slave")
    if experiment_folder:
        command += ["-d", experiment_folder]
    return command


class ServerProcess:
    """One NRPCoreSim child: liveness, exit report and a stop that always ends it."""

    def __init__(self, popen: subprocess.Popen, log_candidates: list[str]) -> None:
        self._popen = popen
        self._log_candidates = log_candidates
        # A log older than this process is a previous run's, and would mislead.
        self._started = time.time() - 1.0
        self._stop_lock = threading.Lock()

    @classmethod
    def start(cls, command: list[str], experiment_folder: str, log_output: str) -> ServerProcess:
        # The server watches NRP_PARENT_PID and exits when that process is gone, which covers a
        # client that is SIGKILLed before it can stop the server.
        env = dict(os.environ, NRP_PARENT_PID=str(os.getpid()))
        log.info("starting %s", " ".join(command))
        popen = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL)
        # NRPCoreSim writes --logfilename relative to its experiment folder (-d), else to its cwd.
        candidates = []
        if log_output:
            if experiment_folder:
                candidates.append(os.path.join(experiment_folder, log_output))
            candidates.append(os.path.abspath(log_output))
        return cls(popen, candidates)

    @property
    def pid(self) -> int:
        return self._popen.pid

    def exit_code(self) -> int | None:
        """None while the process runs."""
        return self._popen.poll()

    def log_report(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last `lines` lines of NRPCoreSim's log file, for error messages."""
        if not self._log_candidates:
            return "(log_output is empty: NRPCoreSim's output went to this process's console)"
        for path in self._log_candidates:
            try:
                if os.stat(path).st_mtime < self._started:
                    continue
                with open(path, encoding="utf-8", errors="replace") as log_file:
                    tail = log_file.readlines()[-lines:]
            except OSError:
                continue
            return f"Last lines of {path}:\n" + "".join(tail).rstrip()
        return f"(no log written to {' or '.join(self._log_candidates)})"

    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM (NRPCoreSim --slave exits on it), SIGKILL after `grace` seconds; returns the exit code."""
        with self._stop_lock:
            if self._popen.poll() is None:
                self._popen.send_signal(signal.SIGTERM)
                try:
                    self._popen.wait(grace)
                except subprocess.TimeoutExpired:
                    log.warning("NRPCoreSim (pid %d) ignored SIGTERM for %s s; killing it", self.pid, grace)
                    self._popen.kill()
                    self._popen.wait()
            return self._popen.returncode


# -- trajectories and datapacks ---------------------------------------------------------------------

class UnknownPayloadType(KeyError):
    """A trajectory element whose protobuf type is in no loaded module (nrp-client raises KeyError)."""


def payload_classes() -> dict[str, type[Message]]:
    """Message classes of the datapack payload packages (`nrp_protobuf.proto_modules`), by full name."""
    classes: dict[str, type[Message]] = {}
    for module_name in proto_modules:
        file_descriptor = import_module(module_name).DESCRIPTOR
        for descriptor in file_descriptor.message_types_by_name.values():
            classes[descriptor.full_name] = message_factory.GetMessageClass(descriptor)
    return classes


def _message_class(type_name: str, known: dict[str, type[Message]]) -> type[Message]:
    if type_name in known:
        return known[type_name]
    # A type from a module the user imported themselves (e.g. nested or extra messages).
    try:
        descriptor = descriptor_pool.Default().FindMessageTypeByName(type_name)
    except KeyError:
        raise UnknownPayloadType(
            f'trajectory element of type "{type_name}": no such message in nrp_protobuf.proto_modules '
            "nor in any imported protobuf module") from None
    return message_factory.GetMessageClass(descriptor)


def read_trajectory(trajectory, classes: dict[str, type[Message]]) -> list[Any]:
    """Merge a `Trajectory`'s JSON and proto elements back into one list, ordered by `dataIndex`."""
    elements: list[tuple[int, Any]] = []
    for item in trajectory.jsonTrajectoryMessages:
        holder = JsonMessage()
        item.data.Unpack(holder)
        elements.append((item.dataIndex, json.loads(holder.data)))
    for item in trajectory.protoTrajectoryMessages:
        payload = _message_class(item.data.TypeName(), classes)()
        item.data.Unpack(payload)
        elements.append((item.dataIndex, payload))
    elements.sort(key=lambda element: element[0])  # stable: equal indices keep JSON first
    return [value for _, value in elements]


def _datapack(name: str, engine: str, payload: Message) -> DataPackMessage:
    datapack = DataPackMessage()
    datapack.dataPackId.dataPackName = name
    datapack.dataPackId.engineName = engine
    datapack.data.Pack(payload)
    return datapack


def _answered(error: Exception) -> bool:
    """Whether a request's error is the server's own answer rather than the lack of one."""
    if isinstance(error, RuntimeError):
        return True  # state "Failed" in a reply
    cause = error if isinstance(error, grpc.RpcError) else error.__cause__
    return isinstance(cause, grpc.RpcError) and cause.code() == grpc.StatusCode.CANCELLED


def _release(process: ServerProcess, channel: grpc.Channel) -> None:
    """Finalizer: holds no reference to the client, so the client can be collected."""
    channel.close()
    process.stop()


class NrpCore:
    """Spawns NRPCoreSim in server mode at `address` and drives it (see the module docstring)."""

    #: NRPCoreSim executable; None = the script next to sys.executable, else PATH. Subclasses
    #: (e.g. test doubles) may set a path.
    executable: str | None = None
    #: Seconds NRPCoreSim gets to exit after SIGTERM before it is killed.
    terminate_grace = 5.0
    #: Deadline of the shutdown request, so a hung server cannot keep shutdown() from ending it.
    shutdown_rpc_timeout = 60.0

    def __init__(self, address, experiment_folder="", config_file="simulation_config.json", args="",
                 log_output=".console_output.log", server_timeout=10,
                 docker_daemon_address="unix:///var/run/docker.sock", image_name="",
                 get_archives=[],  # noqa: B006 -- nrp-client's signature; never mutated
                 compose_file="") -> None:
        if image_name or compose_file:
            raise NotImplementedError(
                "NrpCore: launching NRPCoreSim in Docker (image_name) or docker compose (compose_file) "
                "is not supported; install nrp-jupyter and leave both empty to run it as a local process")
        self._json_datapack_out_buffer: list[DataPackMessage] = []
        self._proto_datapack_out_buffer: list[DataPackMessage] = []
        self.proto_message_classes = payload_classes()
        self._sim_state = "None"
        self._is_open = False
        self._lock = threading.Lock()

        command = server_command(config_file, address, args, log_output, experiment_folder,
                                 executable=self.executable)
        self._process = ServerProcess.start(command, experiment_folder, log_output)
        self._channel = grpc.insecure_channel(address, options=_CHANNEL_OPTIONS)
        self._stub = NrpCoreStub(self._channel)
        self._finalizer = weakref.finalize(self, _release, self._process, self._channel)
        try:
            self._wait_until_server_ready(address, server_timeout)
        except BaseException:
            self._finalizer()
            raise
        self._sim_state = "Created"
        self._is_open = True

    # -- lifetime -------------------------------------------------------------------------------

    def _wait_until_server_ready(self, address: str, server_timeout: float) -> None:
        # A round trip to a method the service does not have: any answer (UNIMPLEMENTED) proves the
        # server is up, and the call has no side effect. grpc.channel_ready_future would do too, but
        # its polling thread raises in the background when the channel is closed soon after (as it
        # is when the child died), so short-deadline probes are used instead.
        probe = self._channel.unary_unary(_PROBE_METHOD, request_serializer=bytes,
                                          response_deserializer=bytes)
        deadline = time.monotonic() + server_timeout
        while True:
            exit_code = self._process.exit_code()
            if exit_code is not None:
                raise ChildProcessError(
                    f"NRPCoreSim exited with code {exit_code} before its server at {address} was up."
                    f"\n{self._process.log_report()}")
            try:
                probe(b"", timeout=_READY_SLICE, wait_for_ready=True)
                return
            except grpc.RpcError as error:
                if error.code() not in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE):
                    return
            if time.monotonic() >= deadline:
                log.error("NRPCoreSim (pid %d) not reachable at %s after %s s; stopping it.\n%s",
                          self._process.pid, address, server_timeout, self._process.log_report())
                raise TimeoutError("Timeout while connecting to NRP Server.")

    def close(self) -> None:
        """Shut the server down if it is still up, and release everything; never raises."""
        if self._is_open:
            try:
                self.shutdown()
            except Exception as err:  # the process is ended regardless; nothing left to report to
                log.debug("NrpCore.close: shutdown request failed: %s", err)
        self._finalizer()

    @property
    def channel(self) -> grpc.Channel:
        """The channel to NRPCoreSim, for the services it serves beside NrpCore (nrpcore_steering)."""
        return self._channel

    def __enter__(self) -> NrpCore:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # -- requests -------------------------------------------------------------------------------

    def _call_rpc(self, rpc, message, thread_response: list | None = None, timeout: float | None = None):
        if not self._is_open:
            raise ClientClosed("This NRP Server is closed. Please delete this object and create a new one")
        try:
            response, call = rpc.with_call(message, timeout=timeout)
        except grpc.RpcError as rpc_error:
            code = rpc_error.code()
            if code == grpc.StatusCode.CANCELLED:
                raise ServerConnectionError("Can't process request") from rpc_error
            if code == grpc.StatusCode.UNAVAILABLE:
                # The error text is nrp-client's; the why (a dead server, usually) goes to the log.
                if self._process.exit_code() is not None:
                    log.error("NRPCoreSim exited with code %s.\n%s", self._process.exit_code(),
                              self._process.log_report())
                raise ServerConnectionError("NRP Server is unavailable") from rpc_error
            raise
        except ValueError as err:  # grpc raises it for a call on a closed channel
            raise ServerConnectionError("Channel has been closed already") from err
        self._sim_state = response.simState.currentState
        if self._sim_state == "Failed":
            raise RequestFailed(response.simState.errorMsg, FailureDetail.from_metadata(call.trailing_metadata()))
        if thread_response is not None:
            thread_response.append(response)
            return None
        return response

    def _call_rpc_async(self, rpc, message, response: list) -> threading.Thread:
        thread = threading.Thread(target=self._call_rpc, args=(rpc, message, response),
                                  name="NrpCore-" + type(message).__name__, daemon=True)
        thread.start()
        return thread

    def _take_datapacks(self, message) -> None:
        with self._lock:
            json_packs, self._json_datapack_out_buffer = self._json_datapack_out_buffer, []
            proto_packs, self._proto_datapack_out_buffer = self._proto_datapack_out_buffer, []
        message.dataPacks.jsonDataPacks.extend(json_packs)
        message.dataPacks.protoDataPacks.extend(proto_packs)

    def _read_trajectory(self, trajectory) -> list[Any]:
        return read_trajectory(trajectory, self.proto_message_classes)

    def unpack_thread_results(self, response):
        """`(done, trajectory)` of a raw response that `run_loop(run_async=True)` appended."""
        return response.doneFlag, self._read_trajectory(response.trajectory)

    def current_state(self) -> str:
        return self._sim_state

    def initialize(self) -> list[Any]:
        response = self._call_rpc(self._stub.initialize, EmptyMessage())
        return self._read_trajectory(response.trajectory)

    def run_loop(self, num_iterations, run_async=False, response=None):
        """Run `num_iterations` loop steps, sending the buffered datapacks first."""
        message = RunLoopMessage(numIterations=num_iterations)
        self._take_datapacks(message)
        if run_async:
            return self._call_rpc_async(self._stub.runLoop, message, response)
        reply = self._call_rpc(self._stub.runLoop, message)
        return reply.doneFlag, self._read_trajectory(reply.trajectory)

    def run_until_timeout(self, run_async=False, response=None):
        """Run until SimulationTimeout or the status function's done flag; buffers are kept."""
        if run_async:
            return self._call_rpc_async(self._stub.runUntilTimeout, EmptyMessage(), response)
        reply = self._call_rpc(self._stub.runUntilTimeout, EmptyMessage())
        return reply.doneFlag, reply.timeoutFlag, self._read_trajectory(reply.trajectory)

    def stop(self) -> None:
        self._call_rpc(self._stub.stopLoop, EmptyMessage())

    def reset(self) -> list[Any]:
        message = ResetMessage()
        self._take_datapacks(message)
        response = self._call_rpc(self._stub.reset, message)
        return self._read_trajectory(response.trajectory)

    def shutdown(self) -> None:
        """Send the shutdown request, then end NRPCoreSim whatever the request's outcome.

        The request's error is raised afterwards, unless the server had already died (then there is
        nothing left to shut down).
        """
        error: Exception | None = None
        try:
            self._call_rpc(self._stub.shutdown, EmptyMessage(), timeout=self.shutdown_rpc_timeout)
        except ChildProcessError:
            raise
        except (ConnectionError, RuntimeError, grpc.RpcError) as err:
            # A refusal (CANCELLED) or a failure is the server's answer, raised even though the
            # server exits after answering; no answer from a server that is gone is no error.
            if _answered(err) or self._process.exit_code() is None:
                error = err
            else:
                log.info("NrpCore.shutdown: NRPCoreSim had already exited (%s)", self._process.exit_code())
        finally:
            if self._is_open:
                self._is_open = False
                self._process.stop(self.terminate_grace)
                self._finalizer()
        if error is not None:
            raise error

    def set_proto_datapack(self, datapack_name: str, engine_name: str, payload: Message) -> None:
        """Buffer a protobuf datapack for `engine_name`, sent with the next run_loop() or reset()."""
        datapack = _datapack(datapack_name, engine_name, payload)
        with self._lock:
            self._proto_datapack_out_buffer.append(datapack)

    def set_json_datapack(self, datapack_name: str, engine_name: str, payload: dict) -> None:
        """Buffer a JSON datapack for `engine_name`, sent with the next run_loop() or reset()."""
        datapack = _datapack(datapack_name, engine_name, JsonMessage(data=json.dumps(payload)))
        with self._lock:
            self._json_datapack_out_buffer.append(datapack)
