"""A gateway kernel's shell and iopub channels over one authenticated websocket (docs/deployment.md).

jupyter_server's own `GatewayKernelClient` opens its websocket without the gateway's auth header,
and its channel reads spin the event loop and give up after 1 s of silence: an idle simulation
would load the server and its next command would time out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

from jupyter_client.jsonutil import json_default
from jupyter_client.session import Session
from jupyter_server.gateway.gateway_client import GatewayClient
from jupyter_server.utils import url_path_join
from tornado.escape import url_escape
from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.websocket import WebSocketClosedError, websocket_connect

from .kernel_errors import GatewayError, KernelGone

log = logging.getLogger(__name__)

# How long one kernel_info_request waits for its reply before the next one is sent.
_READY_PROBE_S = 1.0


class GatewayChannels:
    """A kernel's shell and iopub channels through one websocket to the kernel gateway.

    It offers the part of jupyter_client's AsyncKernelClient that KernelRunner uses (`execute`,
    `get_shell_msg`, `get_iopub_msg`, `wait_for_ready`, `stop_channels`). The websocket is opened
    with GatewayClient's connection arguments, so the gateway's auth token, headers and TLS
    settings apply to it as to the REST requests. Messages name their channel (the gateway
    would otherwise assume shell) and nothing is ever sent on control.
    """

    def __init__(self, kernel_id: str):
        self.kernel_id = kernel_id
        self._session = Session(session=str(uuid.uuid4()), username="nrp_jupyter")
        self._socket = None
        self._queues: dict[str, asyncio.Queue] = {"shell": asyncio.Queue(), "iopub": asyncio.Queue()}
        self._router: asyncio.Task | None = None
        self._closed = False

    @property
    def url(self) -> str:
        gateway = GatewayClient.instance()
        return (url_path_join(gateway.ws_url or "", gateway.kernels_endpoint, url_escape(self.kernel_id),
                              "channels") + f"?session_id={url_escape(self._session.session)}")

    async def connect(self) -> None:
        gateway = GatewayClient.instance()
        request = HTTPRequest(self.url, **gateway.load_connection_args())
        try:
            self._socket = await websocket_connect(request)
        except HTTPClientError as error:
            raise GatewayError(f"the kernel gateway at {gateway.url} refused the channels of kernel "
                               f"{self.kernel_id}: HTTP {error.code} {error.message}") from error
        except OSError as error:
            raise GatewayError(f"the kernel gateway at {gateway.url} cannot be reached for the channels "
                               f"of kernel {self.kernel_id}: {error}") from error
        self._router = asyncio.ensure_future(self._route())

    async def _route(self) -> None:
        try:
            while (raw := await self._socket.read_message()) is not None:
                if isinstance(raw, bytes):
                    continue  # a message with binary buffers (comms): nothing this server reads
                try:
                    message = json.loads(raw)
                except ValueError:
                    log.warning("kernel %s: the gateway sent a message that is not JSON: %.200r",
                                self.kernel_id, raw)
                    continue
                queue = self._queues.get(message.get("channel"))
                if queue is not None:
                    queue.put_nowait(message)
        finally:
            # The gateway closed the connection: the kernel was shut down or the gateway is gone.
            self._closed = True
            for queue in self._queues.values():
                queue.put_nowait(None)

    def _send(self, msg_type: str, content: dict) -> str:
        if self._closed or self._socket is None:
            raise KernelGone(f"the channels of kernel {self.kernel_id} are closed")
        message = self._session.msg(msg_type, content)
        message["channel"] = "shell"
        try:
            self._socket.write_message(json.dumps(message, default=json_default))
        except WebSocketClosedError:
            raise KernelGone(f"the gateway closed the channels of kernel {self.kernel_id}") from None
        return message["header"]["msg_id"]

    def execute(self, code: str, *, silent: bool = False, store_history: bool = True,
                allow_stdin: bool = False, stop_on_error: bool = True) -> str:
        return self._send("execute_request", {"code": code, "silent": silent, "store_history": store_history,
                                              "user_expressions": {}, "allow_stdin": allow_stdin,
                                              "stop_on_error": stop_on_error})

    async def get_shell_msg(self) -> dict:
        return await self._next("shell")

    async def get_iopub_msg(self) -> dict:
        return await self._next("iopub")

    async def _next(self, channel: str) -> dict:
        message = await self._queues[channel].get()
        if message is None:
            self._queues[channel].put_nowait(None)  # every later read fails too
            raise KernelGone(f"the gateway closed the channels of kernel {self.kernel_id}")
        return message

    async def wait_for_ready(self, timeout: float) -> None:
        """Until the kernel answers a kernel_info_request (sent again every second)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            msg_id = self._send("kernel_info_request", {})
            probe_end = min(deadline, asyncio.get_running_loop().time() + _READY_PROBE_S)
            while (left := probe_end - asyncio.get_running_loop().time()) > 0:
                try:
                    reply = await asyncio.wait_for(self.get_shell_msg(), left)
                except asyncio.TimeoutError:
                    break
                if reply.get("parent_header", {}).get("msg_id") == msg_id:
                    return
            if asyncio.get_running_loop().time() >= deadline:
                raise TimeoutError(f"kernel {self.kernel_id} on the gateway did not answer within "
                                   f"{timeout:.0f} s")

    def stop_channels(self) -> None:
        self._closed = True
        if self._socket is not None:
            self._socket.close()
        if self._router is not None:
            self._router.cancel()
