"""One experiment kernel, seen from the server: start, commands, events, liveness, escalating stop.

The protocol is docs/architecture.md's: commands are execute requests on the kernel's main shell
(answered at once, the script runs on a thread of its own), events come back as `display_data`
on iopub. One kernel client per kernel with a session id of its own, one reader task per channel
(two clients of one kernel manager would number their messages alike and steal replies).

With `--gateway-url` the kernel runs on a Jupyter Kernel (or Enterprise) Gateway and the server
holds no process of it (docs/deployment.md). Its channels are then `GatewayChannels`
(nrp_jupyter.server.gateway_channels), one authenticated websocket, instead of jupyter_server's
`GatewayKernelClient`. Liveness is the websocket, the gateway's `restarting` status (a killed
kernel is restarted empty there) and the kernel's REST model; a stop ends the kernel through the
gateway's REST API, never through the control channel or a local pid.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import os
import pathlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import psutil
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.gateway.managers import GatewayMappingKernelManager
from tornado.web import HTTPError

from kernel_ext.protocol import (MIME_TYPE, WARM_UP, Command, Env, Initialized, KernelEvent, ProtocolError,
                                 Request, bootstrap_code, command_code, event_from_json, request_code)

from .gateway_channels import GatewayChannels
from .kernel_environment import inherited_environment, unreachable_broker_warning
from .kernel_errors import GatewayError, KernelCommandError, KernelGone
from .output_log import OutputLog

log = logging.getLogger(__name__)

# How often the kernel's process is checked; a dead kernel is reported within this time.
LIVENESS_INTERVAL_S = 0.25
# On a gateway each check is a REST request; the websocket and the gateway's `restarting` status
# report a death first, so this only catches a kernel removed without either.
GATEWAY_LIVENESS_INTERVAL_S = 2.0
# How long, and how often, a shutdown the gateway refuses is tried again.
GATEWAY_SHUTDOWN_RETRY_S = 15.0
GATEWAY_SHUTDOWN_RETRY_INTERVAL_S = 0.5
# Kernel states a gateway announces on iopub when the kernel process is gone.
DEAD_KERNEL_STATES = {"restarting", "dead"}
# Bytes of a kernel's output its simulation log keeps (NrpJupyterApp.kernel_output_limit).
DEFAULT_OUTPUT_LIMIT = 32 * 1024 * 1024


@dataclass(frozen=True)
class KernelDied:
    """Not an event of the kernel's: the runner's own news that the kernel is gone."""


class KernelRunner:
    """Runs one simulation's kernel and reports its events (kernel_ext.protocol's, and KernelDied)
    through `on_event`. A warm kernel (kernel_pool) is started before its simulation exists and
    `attach`ed to it when taken."""

    def __init__(self, kernel_manager, *, kernel_name: str, on_event: Callable[[KernelEvent | KernelDied], None],
                 output_file: pathlib.Path | None = None, output_limit: int = DEFAULT_OUTPUT_LIMIT,
                 secrets: tuple[str, ...] = ()):
        self._km = kernel_manager
        self._secrets = secrets
        self._kernel_name = kernel_name
        self._on_event = on_event
        self._output = OutputLog(output_file, output_limit) if output_file is not None else None
        self.kernel_id: str | None = None
        self.on_gateway = False
        self._client = None
        self._tasks: list[asyncio.Task] = []
        self._replies: dict[str, asyncio.Future] = {}
        self._closed = False

    def attach(self, on_event: Callable[[KernelEvent | KernelDied], None], output_file: pathlib.Path,
               output_limit: int = DEFAULT_OUTPUT_LIMIT) -> None:
        """Hands a started kernel to its simulation: its events and output go there from now on."""
        self._on_event = on_event
        self._output = OutputLog(output_file, output_limit)

    @property
    def closed(self) -> bool:
        """Shut down, or reported dead."""
        return self._closed

    async def start(self, cwd: pathlib.Path, env: dict[str, str], timeout_s: float) -> None:
        """Starts the kernel in `cwd` with `env` on top of the server's environment (without the
        server's `secrets`), and waits until it answers."""
        self.on_gateway = isinstance(self._km, GatewayMappingKernelManager)
        if self.on_gateway:
            # The gateway's kernel manager adds the server's KERNEL_* and allowed_envs variables
            # itself and forwards nothing else: the rest would only end up in its log line.
            environment = dict(env)
        else:
            # The kernel manager replaces the environment instead of merging it.
            environment = {**inherited_environment(os.environ, self._secrets), **env}
        try:
            self.kernel_id = await self._km.start_kernel(kernel_name=self._kernel_name, cwd=str(cwd),
                                                         env=environment)
        except HTTPError as error:  # only the gateway's kernel manager answers with one
            raise GatewayError(_gateway_failure("starting a kernel", error)) from error
        kernel = self._km.get_kernel(self.kernel_id)
        if self.on_gateway:
            broker = env.get(Env.MQTT_BROKER, "")
            if warning := unreachable_broker_warning(broker, GatewayClient.instance().url):
                log.warning("%s", warning)
            client = GatewayChannels(self.kernel_id)
            self._client = client  # shutdown() closes it even if the connection fails half-way
            await client.connect()
        else:
            # An experiment kernel restarted empty would look alive with nothing running in it. The
            # restarter is already running: stop it first (stop_restarter does nothing once
            # autorestart is off), then keep it off.
            kernel.stop_restarter()
            kernel.autorestart = False
            client = kernel.client()
            client.session.session = str(uuid.uuid4())
            started = client.start_channels()
            if inspect.isawaitable(started):
                await started
            self._client = client
        await client.wait_for_ready(timeout=timeout_s)
        self._tasks = [asyncio.ensure_future(self._read_iopub()), asyncio.ensure_future(self._read_shell()),
                       asyncio.ensure_future(self._watch_liveness())]

    @property
    def pid(self) -> int | None:
        """The kernel's process id when it runs on this machine, else None."""
        kernel = self._km.get_kernel(self.kernel_id) if self.kernel_id in self._km else None
        provisioner = getattr(kernel, "provisioner", None)
        return getattr(provisioner, "pid", None)

    async def warm_up(self, timeout_s: float) -> None:
        """Imports ahead what the bootstrap needs, in a kernel that waits for its simulation."""
        await self._execute("warm-up", WARM_UP, timeout_s)

    async def bootstrap(self, variables: Mapping[str, str], timeout_s: float) -> None:
        """Starts the simulation `variables` describe (the kernel's Env variables) in the kernel."""
        try:
            await self._execute(Command.INITIALIZE.value, bootstrap_code(variables), timeout_s)
        except KernelCommandError as error:
            # The commonest set-up mistake with a gateway: its kernels' Python is another one.
            if error.ename == "ModuleNotFoundError" and "kernel_ext" in str(error):
                where = " on the kernel gateway" if self.on_gateway else ""
                reason = (f"kernel_ext cannot be imported: nrp-jupyter is not installed in the Python "
                          f"environment of kernel spec {self._kernel_name!r}{where}")
                raise KernelCommandError("initialize", error.ename, reason) from error
            raise

    async def command(self, command: Command, timeout_s: float = 10.0) -> None:
        if command is Command.INITIALIZE:
            raise ValueError("initialize is sent by bootstrap()")
        await self._execute(command.value, command_code(command), timeout_s)

    async def request(self, request: Request, timeout_s: float = 10.0) -> None:
        """A command with arguments (steer, read_datapack, step); its outcome comes as an event."""
        await self._execute(request.COMMAND.value, request_code(request), timeout_s)

    async def _execute(self, name: str, code: str, timeout_s: float) -> None:
        if self._client is None or self._closed:
            raise KernelGone(f"{name}: the kernel is not running")
        # stop_on_error=False: a refused command must not make the kernel abort the ones after it.
        msg_id = self._client.execute(code, silent=False, store_history=False, allow_stdin=False,
                                      stop_on_error=False)
        reply = asyncio.get_running_loop().create_future()
        self._replies[msg_id] = reply
        try:
            content = await asyncio.wait_for(reply, timeout_s)
        finally:
            self._replies.pop(msg_id, None)
        if content.get("status") == "error":
            raise KernelCommandError(name, content.get("ename", ""), content.get("evalue", ""))

    async def _read_shell(self) -> None:
        with contextlib.suppress(KernelGone):  # the iopub reader reports it
            while True:
                message = await self._client.get_shell_msg()
                waiting = self._replies.get(message.get("parent_header", {}).get("msg_id"))
                if waiting is not None and not waiting.done():
                    waiting.set_result(message["content"])

    async def _read_iopub(self) -> None:
        try:
            while True:
                message = await self._client.get_iopub_msg()
                kind = message["header"]["msg_type"]
                content = message["content"]
                if kind == "display_data" and MIME_TYPE in content.get("data", {}):
                    self._receive(content["data"][MIME_TYPE])
                elif kind == "stream":
                    self._record_output(content.get("text", ""))
                elif kind == "error":
                    self._record_output("\n".join(content.get("traceback", [])) + "\n")
                elif kind == "status" and content.get("execution_state") in DEAD_KERNEL_STATES:
                    # The gateway's restarter found the kernel process gone; what it starts
                    # instead is an empty kernel.
                    self._report_death()
                    return
        except KernelGone:
            self._report_death()

    def _receive(self, payload) -> None:
        try:
            event = event_from_json(payload)
        except ProtocolError as error:
            log.warning("kernel %s: %s; ignored", self.kernel_id, error)
            return
        if self.on_gateway and isinstance(event, Initialized):
            # A pid on the gateway's machine: this server must never signal it.
            event = dataclasses.replace(event, nrpcoresim_pid=None)
        self._deliver(event)

    def _deliver(self, event: KernelEvent | KernelDied) -> None:
        try:
            self._on_event(event)
        except Exception:  # noqa: BLE001 (a faulty listener must not stop the reader)
            log.exception("handling kernel event %r failed", event)

    def _record_output(self, text: str) -> None:
        if self._output is not None:
            self._output.write(text)

    async def _watch_liveness(self) -> None:
        interval = GATEWAY_LIVENESS_INTERVAL_S if self.on_gateway else LIVENESS_INTERVAL_S
        while not self._closed:
            await asyncio.sleep(interval)
            if self._closed:
                return
            if not await self.is_alive():
                self._report_death()
                return

    async def is_alive(self) -> bool:
        """Whether the kernel's process (or the gateway's kernel) still runs."""
        try:
            kernel = self._km.get_kernel(self.kernel_id)
        except KeyError:
            return False
        if not self.on_gateway:
            return await kernel.is_alive()
        try:
            # A gateway kernel manager answers True until a request found the kernel gone (404).
            return await kernel.is_alive() and kernel.has_kernel
        except Exception as error:  # noqa: BLE001 (the gateway may be briefly unreachable)
            log.info("kernel %s: the gateway did not answer a liveness check: %s", self.kernel_id, error)
            return True

    def _report_death(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._fail_pending()
        self._deliver(KernelDied())

    def _fail_pending(self) -> None:
        for reply in self._replies.values():
            if not reply.done():
                reply.set_exception(KernelGone("the kernel died"))

    async def shutdown(self) -> None:
        """Ends the kernel and every process under it; safe to call twice."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        self._fail_pending()
        children = _descendants(self.pid)
        if self._client is not None:
            with contextlib.suppress(Exception):
                self._client.stop_channels()
        await self._shut_down_kernel()
        _kill(children)
        if self._output is not None:
            self._output.close()

    async def _shut_down_kernel(self) -> None:
        # The simulation is over: nothing in the kernel needs a graceful exit. On a gateway this is
        # a DELETE of the kernel, which ends its process group there.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + GATEWAY_SHUTDOWN_RETRY_S
        while self.kernel_id is not None and self.kernel_id in self._km:
            try:
                await self._km.shutdown_kernel(self.kernel_id, now=True)
                return
            except Exception as error:  # noqa: BLE001 (the simulation ends anyway; say what is left)
                # A gateway answers 500 to a DELETE while it restarts the kernel (jupyter_client
                # 8.10 reads the exception of a future not yet done): once it is up, DELETE works.
                if not self.on_gateway or loop.time() > deadline:
                    log.warning("kernel %s could not be shut down: %r", self.kernel_id, error)
                    return
                log.info("kernel %s: the gateway refused the shutdown (%r); trying again", self.kernel_id,
                         error)
                await asyncio.sleep(GATEWAY_SHUTDOWN_RETRY_INTERVAL_S)


def _gateway_failure(action: str, error: HTTPError) -> str:
    # tornado keeps the gateway client's explanation (which names the URL) as log_message.
    detail = error.log_message % error.args if error.log_message and error.args else error.log_message
    return (f"the kernel gateway at {GatewayClient.instance().url} failed {action}: "
            f"HTTP {error.status_code}: {detail or error.reason}")


def _descendants(pid: int | None) -> list[psutil.Process]:
    if pid is None:
        return []
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _kill(processes: list[psutil.Process]) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def kill_process_tree(pid: int | None) -> None:
    """Kills a process and its descendants (NRPCoreSim and its engines after a hung stop)."""
    if pid is None:
        return
    try:
        root = psutil.Process(pid)
        # children() looks the root up again: it may end in between, as a late-stopping NRPCoreSim
        # does. Its orphans, if any, are the process sweep's (they carry the simulation's marker).
        tree = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    _kill(tree)
