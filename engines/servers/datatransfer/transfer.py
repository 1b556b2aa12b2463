"""The datatransfer engine's state: a sink per dumped datapack, the MQTT connection, the index.

MQTT (topics of NRP spec 1.5, `[prefix/]nrp_simulation/<simulationID>/...`):

    welcome           retained "NRP-core is connected!" at initialize, "Bye! NRP-core is disconnecting!"
                      at shutdown
    data              retained JSON index of the streamed datapacks, [{"topic": ..., "type": ...}]; the
                      type is the full protobuf name of what the topic carries ("EngineGrpc.DataPackMessage"
                      with streamDataPackMessage, else the datapack's own type), "" until the first datapack
                      arrives; cleared at shutdown, so that late subscribers see no stale topics
    data/<datapack>   each datapack, QoS 0: the serialized DataPackMessage, or only its data's bytes when
                      streamDataPackMessage is false; the string "reset" on reset

Publishing never waits for the broker: paho's own thread sends, and while the broker is away
datapacks are dropped (the retained welcome and index are sent again once it is back).

Decisions where nrp-core's behaviour was looked up:
- A broker that cannot be reached at initialize is not an error: nrp-core logs a warning and goes on
  (file dumps work without a broker). Here the warning names the broker address, and, unlike nrp-core,
  which disables streaming for the whole run, the connection keeps being retried in the background:
  streaming starts whenever the broker comes up.
- A `dumps` entry with neither network nor file is warned about and not registered, as in nrp-core.
- A datapack that is not registered (not in dumps, or in dumps without a destination) is refused with
  an error naming it, as nrp-core refuses datapacks its engine did not register.
"""

from __future__ import annotations

import datetime
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from google.protobuf.message import DecodeError, Message

from engines.datapacks import load_payload_modules, message_class_for
from engines.mqtt import topics
from engines.mqtt.publisher import MqttPublisher
from engines.servers.datatransfer.config import DataTransferConfig
from engines.servers.datatransfer.sinks import FileSink, NetworkSink
from nrp_protobuf import engine_grpc_pb2

log = logging.getLogger(__name__)

WELCOME = "NRP-core is connected!"
GOODBYE = "Bye! NRP-core is disconnecting!"
RESET = "reset"
DATAPACK_MESSAGE_TYPE = engine_grpc_pb2.DataPackMessage.DESCRIPTOR.full_name
# How long initialize waits to learn whether the broker answers. A refused connection is known at
# once; the wait only runs out for a broker that is down or far away, and then streaming starts
# whenever the connection succeeds.
CONNECT_WAIT_S = 1.0
_STOP_TIMEOUT_S = 1.0


class UnknownDataPack(LookupError):
    """A datapack sent to the engine that its `dumps` do not register."""


class DataTransfer:
    """The dumps of one datatransfer engine, from initialize to shutdown. Thread-safe."""

    def __init__(self, engine_name: str, config: DataTransferConfig, *,
                 publisher_factory: Callable[..., MqttPublisher] = MqttPublisher):
        self.engine_name = engine_name
        self.config = config
        self._publisher_factory = publisher_factory
        self._lock = threading.Lock()
        self._files: dict[str, FileSink] = {}
        self._streams: dict[str, NetworkSink] = {}
        self._registered: set[str] = set()
        self._mqtt: MqttPublisher | None = None
        self.data_directory: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, connect_wait_s: float = CONNECT_WAIT_S) -> bool:
        """Open the files, connect to the broker (if anything is streamed); True if connected."""
        load_payload_modules()
        config = self.config
        for dump in config.dumps:
            if not dump.has_destination:
                log.warning('dumps entry "%s" has neither network nor file set; the datapack is not registered',
                            dump.name)
                continue
            self._registered.add(dump.name)
            if dump.network:
                self._streams[dump.name] = NetworkSink(topics.data_item(config.prefix, config.simulation_id,
                                                                        dump.name))
        if config.file_dumps:
            self.data_directory = config.data_directory / _timestamp()
            for dump in config.file_dumps:
                sink = FileSink(self.data_directory, dump.name)
                try:
                    sink.open()
                except OSError as err:
                    self.close()
                    raise OSError(f"dataDirectory: cannot write {sink.path}: {err.strerror or err}") from None
                self._files[dump.name] = sink
            log.info("dumping %s to files in %s", ", ".join(self._files), self.data_directory)
        return self._connect(connect_wait_s)

    def _connect(self, wait_s: float) -> bool:
        config = self.config
        connected = threading.Event()
        self._mqtt = self._publisher_factory(
            config.broker, topics.client_id(config.prefix, "nrp_datatransfer"),
            on_connection_change=lambda up: connected.set() if up else None)
        self._mqtt.publish(topics.welcome(config.prefix, config.simulation_id), WELCOME, retain=True)
        self._publish_index()
        self._mqtt.start()
        if connected.wait(wait_s):
            log.info("connected to the MQTT broker %s; streaming %s", self._mqtt.broker,
                     ", ".join(self._streams) or "nothing")
            return True
        log.warning("MQTT broker %s (MQTTBroker) is unreachable; datapacks are not streamed until it is, "
                    "and the engine keeps trying to connect", self._mqtt.broker)
        return False

    def reset(self) -> None:
        """nrp-core's reset: each file starts anew, each stream gets the message "reset"."""
        with self._lock:
            for sink in self._files.values():
                sink.reset()
            for sink in self._streams.values():
                self._mqtt.publish(sink.topic, RESET)

    def close(self) -> None:
        """Say goodbye, drop the index, disconnect and close the files. Idempotent."""
        with self._lock:
            mqtt, self._mqtt = self._mqtt, None
            if mqtt is not None:
                config = self.config
                mqtt.publish(topics.welcome(config.prefix, config.simulation_id), GOODBYE, retain=True)
                mqtt.clear_retained(topics.data(config.prefix, config.simulation_id))
                mqtt.stop(_STOP_TIMEOUT_S)
            for sink in self._files.values():
                sink.close()

    @property
    def connected(self) -> bool:
        return self._mqtt is not None and self._mqtt.connected

    # -- datapacks -------------------------------------------------------------------------------

    def handle(self, message: engine_grpc_pb2.DataPackMessage, sim_time_ns: int) -> None:
        """Stream and/or dump one datapack received from a transceiver function."""
        name = message.dataPackId.dataPackName
        self.check_registered(name)
        if not message.HasField("data"):
            return  # an empty datapack carries nothing to record
        with self._lock:
            stream = self._streams.get(name)
            if stream is not None and self._mqtt is not None:
                self._stream(stream, message)
            sink = self._files.get(name)
            if sink is not None:
                sink.write(self._unpack(message), sim_time_ns / 1e9)

    def empty_datapack(self, datapack_id: engine_grpc_pb2.DataPackIdentifier) -> engine_grpc_pb2.DataPackMessage:
        """What getDataPacks answers: nrp-core's datatransfer datapacks hold no information."""
        self.check_registered(datapack_id.dataPackName)
        return engine_grpc_pb2.DataPackMessage(dataPackId=datapack_id)

    def check_registered(self, name: str) -> None:
        if name in self._registered:
            return
        listed = {dump.name: dump for dump in self.config.dumps}
        if name in listed:
            raise UnknownDataPack(f'datapack "{name}" is in dumps without network or file, so it is not registered')
        known = ", ".join(sorted(self._registered)) or "none"
        raise UnknownDataPack(f'datapack "{name}" is not in the dumps of this engine (registered: {known})')

    def _stream(self, sink: NetworkSink, message: engine_grpc_pb2.DataPackMessage) -> None:
        if self.config.stream_datapack_message:
            payload, type_name = message.SerializeToString(), DATAPACK_MESSAGE_TYPE
        else:
            payload, type_name = message.data.value, message.data.TypeName()
        if sink.type != type_name:
            sink.type = type_name
            self._publish_index()
        self._mqtt.publish(sink.topic, payload)

    def _publish_index(self) -> None:
        index = [{"topic": sink.topic, "type": sink.type} for sink in self._streams.values()]
        self._mqtt.publish(topics.data(self.config.prefix, self.config.simulation_id), index, retain=True)

    def _unpack(self, message: engine_grpc_pb2.DataPackMessage) -> Message:
        type_name = message.data.TypeName()
        name = message.dataPackId.dataPackName
        try:
            payload = message_class_for(type_name)()
        except KeyError:
            raise UnknownDataPack(f'datapack "{name}" holds the unknown protobuf type "{type_name}"') from None
        try:
            message.data.Unpack(payload)
        except DecodeError as err:
            raise ValueError(f'datapack "{name}": its {type_name} data cannot be decoded: {err}') from None
        return payload


def _timestamp() -> str:
    # Seconds alone would let two engines started in the same second share a folder.
    now = datetime.datetime.now()
    return f"{now:%Y%m%d-%H%M%S}-{os.getpid()}"
