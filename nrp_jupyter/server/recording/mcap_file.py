"""One recording being written: an MCAP writer over a file, with a channel per topic registered on
first use. Used by the recorder's writer thread only."""

from __future__ import annotations

import logging
from typing import BinaryIO

from mcap.writer import CompressionType, Writer
from mcap_protobuf.schema import build_file_descriptor_set

from . import format as fmt

log = logging.getLogger(__name__)

# Smaller than mcap's 1 MiB default: a chunk reaches the disk when full, so this bounds what a
# crash of the server loses, at a slightly larger file.
CHUNK_SIZE = 256 * 1024


class UnknownDataPackType(ValueError):
    """A datapack whose protobuf type this installation does not know: it has no schema to record."""


class RecordingFile:
    """An MCAP recording written into `stream` (kept open by the caller, who closes it)."""

    def __init__(self, stream: BinaryIO, metadata: dict[str, str]):
        self.stream = stream
        self._writer = Writer(stream, chunk_size=CHUNK_SIZE, compression=CompressionType.ZSTD)
        self._writer.start(profile="", library="nrp-jupyter")
        self._writer.add_metadata(fmt.METADATA_NAME, {"formatVersion": fmt.FORMAT_VERSION, **metadata})
        self._channels: dict[str, int] = {}
        self._protobuf_schemas: dict[str, int] = {}
        self._sequence = 0
        self.messages = 0

    def write_json(self, topic: str, data: bytes, log_time_ns: int, sim_time_ns: int) -> None:
        """`data` is the message as JSON text (encoded)."""
        channel = self._channels.get(topic)
        if channel is None:
            name, schema = fmt.json_schema(topic)
            schema_id = self._writer.register_schema(name, fmt.JSON_SCHEMA_ENCODING, schema)
            channel = self._writer.register_channel(topic, fmt.JSON_ENCODING, schema_id)
            self._channels[topic] = channel
        self._add(channel, data, log_time_ns, sim_time_ns)

    def write_protobuf(self, topic: str, type_name: str, data: bytes, log_time_ns: int,
                       sim_time_ns: int) -> None:
        # One channel per topic and type: a datapack name that changes type gets a second channel.
        key = f"{topic}\0{type_name}"
        channel = self._channels.get(key)
        if channel is None:
            schema_id = self._protobuf_schemas.get(type_name)
            if schema_id is None:
                schema_id = self._protobuf_schemas[type_name] = self._writer.register_schema(
                    type_name, fmt.PROTOBUF_ENCODING, _descriptor_set(type_name))
            channel = self._writer.register_channel(topic, fmt.PROTOBUF_ENCODING, schema_id)
            self._channels[key] = channel
        self._add(channel, data, log_time_ns, sim_time_ns)

    def _add(self, channel: int, data: bytes, log_time_ns: int, sim_time_ns: int) -> None:
        self._writer.add_message(channel, log_time=log_time_ns, data=data, publish_time=sim_time_ns,
                                 sequence=self._sequence)
        self._sequence += 1
        self.messages += 1

    def finish(self) -> None:
        """Writes the last chunk and the summary (channel and message index) and flushes."""
        self._writer.finish()
        self.stream.flush()


def _descriptor_set(type_name: str) -> bytes:
    from engines.datapacks import load_payload_modules, message_class_for

    load_payload_modules()
    try:
        message_class = message_class_for(type_name)
    except KeyError:
        raise UnknownDataPackType(f"unknown protobuf type {type_name!r}") from None
    return build_file_descriptor_set(message_class).SerializeToString()
