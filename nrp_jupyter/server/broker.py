"""An MQTT broker inside the Jupyter server (amqtt), for machines without one.

It runs on the caller's asyncio loop, the Jupyter server's, and serves plain TCP with anonymous
access, which is what nrp-core's datatransfer engine expects of a local broker, and, when given a
websockets port, MQTT over websockets (subprotocol `mqtt`, any path), which is how NRP's frontend
(mqtt.js in the browser) connects.
Checked for amqtt 0.12.1: `Broker.start()` prints nothing and installs no signal handler (only its
`amqtt` command-line script does), so nothing has to be undone here. Importing this module (amqtt)
takes ~55 ms; the first start in a process ~10 ms (amqtt loads its plugins), later ones ~1 ms.

amqtt 0.12.1 needs two corrections, made in `_Broker`:
- on every CONNECT it sends the new client the retained messages of every topic filter that ANY
  client subscribed to, so a frontend got other clients' retained lifecycle and data messages;
- it leaves a connection's socket open when the client has already gone (it drains before closing
  and the drain raises), or when the client connects while shutdown runs; and once, in a test, its
  shutdown did not finish within 10 s. The server's shutdown must be bounded and free the port.
"""

import asyncio
import errno
import logging
import socket

from amqtt.broker import Broker
from amqtt.errors import BrokerError

from engines.ports import can_bind

__all__ = ["EmbeddedBroker"]

log = logging.getLogger(__name__)

# amqtt logs every connection and every state change of its `transitions` machines at INFO.
_CHATTY_LOGGERS = ("amqtt", "transitions.core")
# amqtt's own shutdown takes ~1 ms; past this, what is left is closed by force.
_SHUTDOWN_TIMEOUT = 3.0


class _Broker(Broker):
    """amqtt's Broker with the two corrections of the module docstring."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.open_streams: set[asyncio.StreamWriter] = set()

    async def stream_connected(self, reader, writer, listener_name: str) -> None:
        # Track every accepted TCP connection, so that stop() can close what amqtt leaves open.
        self.open_streams.add(writer)
        try:
            await super().stream_connected(reader, writer, listener_name)
        finally:
            self.open_streams.discard(writer)
            # amqtt is done with this client; a socket it did not close would leak.
            if not writer.transport.is_closing():
                writer.transport.abort()

    async def _publish_retained_messages_for_subscription(self, subscription, session) -> None:
        # Called on SUBSCRIBE for the session's new filter (keep), and on CONNECT for every filter
        # in the broker (keep only the session's own, which a persistent session still has).
        topic_filter = subscription[0]
        subscribers = self._subscriptions.get(topic_filter, ())
        if any(subscriber.client_id == session.client_id for subscriber, _ in subscribers):
            await super()._publish_retained_messages_for_subscription(subscription, session)


class EmbeddedBroker:
    """A loopback MQTT broker on the running asyncio loop.

    `start()` binds `port`, or a free port if that one is taken (or `port` is 0), and returns the
    ``host:port`` actually bound; `stop()` closes it. Both must be awaited on the same loop. With a
    `websockets_port`, a second listener serves MQTT over websockets there (a free port if that one
    is taken, or if it is 0); `websockets_address` is its ``host:port`` once started.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 1883, *, websockets_port: int | None = None) -> None:
        # "[::1]" as in a broker address; amqtt and getaddrinfo want the bare IPv6 address.
        self.host = host.removeprefix("[").removesuffix("]")
        self.port = port
        self.websockets_port = websockets_port
        self.address: str | None = None
        self.websockets_address: str | None = None
        self._broker: _Broker | None = None

    def choose_port(self) -> int:
        """Settles the port before `start()`: the configured one if it is free, else a free one.
        A caller that must know the address before the event loop runs calls this first;
        `start()` still falls back if the port is lost in between."""
        if not self.port or not can_bind(self.host, self.port):
            with socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET) as probe:
                probe.bind((self.host, 0))
                self.port = probe.getsockname()[1]
        return self.port

    async def start(self) -> str:
        if self._broker is not None:
            return self.address
        _quiet_amqtt()
        port, ws_port = self._port_or_free(self.port, "MQTT"), None
        if self.websockets_port is not None:
            ws_port = self._port_or_free(self.websockets_port, "MQTT over websockets")
        try:
            broker = await self._start_on(port, ws_port)
        except BrokerError as err:
            # Lost a port between the check and amqtt's bind.
            if not _is_address_in_use(err):
                raise
            log.warning("an MQTT port of the embedded broker was taken meanwhile; it takes free ports")
            broker = await self._start_on(0, None if ws_port is None else 0)
        self._broker = broker
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.address = f"{host}:{_bound_port(broker, 'default')}"
        if ws_port is not None:
            self.websockets_address = f"{host}:{_bound_port(broker, 'websockets')}"
            log.info("embedded MQTT broker listening on %s, MQTT over websockets on %s", self.address,
                     self.websockets_address)
        else:
            log.info("embedded MQTT broker listening on %s", self.address)
        return self.address

    def _port_or_free(self, port: int, what: str) -> int:
        """`port` if it can be bound now, else 0 (a free one, at bind time)."""
        if port and can_bind(self.host, port):
            return port
        if port:
            log.warning("%s port %s:%d is taken; the embedded broker takes a free port", what, self.host, port)
        return 0

    async def stop(self) -> None:
        """Close the listener and every connection; bounded in time, idempotent."""
        broker, self._broker = self._broker, None
        if broker is None:
            return
        # Stop accepting first: clients reconnecting while amqtt shuts down would otherwise get a
        # session on a broker that is going away.
        for server in broker._servers.values():
            if server.instance is not None:
                server.instance.close()
        try:
            await asyncio.wait_for(broker.shutdown(), _SHUTDOWN_TIMEOUT)
        except asyncio.TimeoutError:
            log.warning("embedded MQTT broker did not shut down within %.0f s; closing it by force",
                        _SHUTDOWN_TIMEOUT)
            for task in (broker._broadcast_task, broker._session_monitor_task):
                if task is not None:
                    task.cancel()
        except Exception:
            log.exception("embedded MQTT broker failed to shut down cleanly; closing it by force")
        for writer in list(broker.open_streams):
            writer.transport.abort()
        log.info("embedded MQTT broker on %s stopped", self.address)

    async def _start_on(self, port: int, websockets_port: int | None) -> _Broker:
        # amqtt splits the bind string itself and passes the host on with its brackets, which
        # getaddrinfo refuses; it accepts an IPv6 host only as the whole string before the last ':'.
        listeners = {"default": {"type": "tcp", "bind": f"{self.host}:{port}"}}
        if websockets_port is not None:
            listeners["websockets"] = {"type": "ws", "bind": f"{self.host}:{websockets_port}"}
        config = {
            "listeners": listeners,
            # Only anonymous auth: amqtt's default plugin set would also log every packet and
            # publish $SYS topics every 20 s.
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        broker = _Broker(config)
        await broker.start()
        return broker


def _bound_port(broker: _Broker, listener: str) -> int:
    return broker._servers[listener].instance.sockets[0].getsockname()[1]


def _quiet_amqtt() -> None:
    if log.isEnabledFor(logging.DEBUG):
        return
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        # Only loggers nobody configured: an operator's explicit level wins.
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


def _is_address_in_use(err: BaseException) -> bool:
    while err is not None:
        if isinstance(err, OSError) and err.errno == errno.EADDRINUSE:
            return True
        err = err.__cause__ or err.__context__
    return False
