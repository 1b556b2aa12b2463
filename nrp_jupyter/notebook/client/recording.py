"""A run's recording (the MCAP file the server writes of every simulation), for analysis and replay.

    recording = simulation.recording()        # once the simulation has stopped
    recording.topics                          # ['data/engine_time', 'lifecycle', 'status', ...]
    frames = recording.frames()               # {topic: pandas.DataFrame}
    frames["data/engine_time"].plot(x="sim_time", y="value")
    for message in recording.replay(speed=4): ...

Every message has `wall_time` (s since the epoch, when the server published or received it) and
`sim_time` (s of simulation time then; a datapack carries the latest status's, so its resolution is
the status interval). The layout is the server's (nrp_jupyter/server/recording/format.py, which
documents it); this module relies only on what an MCAP file says of itself, and on the names below.
"""

from __future__ import annotations

import contextlib
import io
import json
import pathlib
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from .errors import ServerUnreachable, error_from_response

# The server's names (server/recording/format.py; a test checks that they agree).
METADATA_NAME = "nrp_jupyter.recording"
DATA_PREFIX = "data/"
JSON_ENCODING = "json"
PROTOBUF_ENCODING = "protobuf"
FETCH_TIMEOUT_S = 60.0
# Repeated numbers become one column each (`array[0]`, `array[1]`, ...) up to this many.
MAX_ELEMENTS = 64


@dataclass(frozen=True)
class RecordedMessage:
    """One message of a recording. `payload` is the JSON value, or the protobuf message of a
    datapack; `data` the bytes as recorded; `schema` the JSON schema's or protobuf type's name."""

    topic: str
    wall_time: float
    sim_time: float
    payload: Any
    data: bytes
    encoding: str
    schema: str


class Recording:
    """The messages of one recording, in the order of their wall time."""

    def __init__(self, messages: list[RecordedMessage], metadata: dict[str, str]):
        self.messages = messages
        self.metadata = metadata

    def __repr__(self) -> str:
        return (f"Recording(simulation {self.metadata.get('simulationID', '?')} of "
                f"{self.metadata.get('experimentID', '?')!r}, {len(self.messages)} messages, "
                f"{self.duration:.3g} s)")

    def __len__(self) -> int:
        return len(self.messages)

    # -- loading -------------------------------------------------------------------------------

    @classmethod
    def from_bytes(cls, data: bytes) -> Recording:
        """A recording from an MCAP file's bytes. A file cut short (its server died while it was
        written) gives the messages it holds up to the cut."""
        from mcap.exceptions import McapError
        from mcap.reader import make_reader

        try:
            reader = make_reader(io.BytesIO(data))
            metadata = {}
            for record in reader.iter_metadata():
                if record.name == METADATA_NAME:
                    metadata = dict(record.metadata)
            entries = list(_decoded(reader.iter_messages(log_time_order=True)))
        except (McapError, EOFError, ValueError):
            entries, metadata = _read_up_to_the_cut(data)
        return cls([_message(*entry) for entry in entries], metadata)

    @classmethod
    def from_file(cls, path: str | pathlib.Path) -> Recording:
        return cls.from_bytes(pathlib.Path(path).read_bytes())

    @classmethod
    def fetch(cls, connection, simulation_id: int, *, timeout: float = FETCH_TIMEOUT_S) -> Recording:
        """`GET /simulation/<id>/recording` from the server of `connection`: the recording of a
        simulation that has stopped. Raises `NotFound` (while it runs, or if it left none)."""
        return cls.from_bytes(fetch_bytes(connection, int(simulation_id), timeout))

    # -- what it holds -------------------------------------------------------------------------

    @property
    def topics(self) -> list[str]:
        return sorted({message.topic for message in self.messages})

    @property
    def start(self) -> float:
        """The wall time of the first message (s since the epoch), 0 for an empty recording."""
        return self.messages[0].wall_time if self.messages else 0.0

    @property
    def duration(self) -> float:
        """Wall-clock seconds from the first message to the last."""
        return self.messages[-1].wall_time - self.start if self.messages else 0.0

    def of(self, topic: str) -> list[RecordedMessage]:
        return [message for message in self.messages if message.topic == topic]

    def frame(self, topic: str):
        """The messages of `topic` as a pandas DataFrame: `time` (s since the recording's first
        message), `wall_time`, `sim_time`, then one column per field of the payload (nested
        fields as `a.b`, repeated numbers as `name[i]`; a field named like one of the first three as
        `payload.<name>`)."""
        pandas = _pandas()
        rows = []
        for message in self.of(topic):
            row = {"time": message.wall_time - self.start, "wall_time": message.wall_time,
                   "sim_time": message.sim_time}
            row.update({(f"payload.{name}" if name in row else name): value
                        for name, value in _flatten(_plain(message.payload)).items()})
            rows.append(row)
        return pandas.DataFrame(rows, columns=None if rows else ["time", "wall_time", "sim_time"])

    def frames(self) -> dict:
        """`{topic: frame(topic)}` for every topic."""
        return {topic: self.frame(topic) for topic in self.topics}

    # -- replay --------------------------------------------------------------------------------

    def replay(self, *, speed: float = 1.0, topics=None, mqtt: str | None = None, prefix: str = "replay",
               simulation_id: int | None = None):
        """A `Replay` of the messages (of `topics`, or all) with their original timing divided by
        `speed`. Iterate it to get each message when it is due, or `play(on_message)` it on a
        thread; `pause()`, `resume()`, `seek(seconds)` and `speed` steer it.

        With `mqtt` ("host:port"), each message is also published as the server and the
        datatransfer engine did, under `[<prefix>/]nrp_simulation/<simulation_id>/`: `prefix`
        "replay" by default (so that a replay never mixes into live topics; "" publishes on the
        original ones), `simulation_id` the recorded one by default. Datapacks go out as their
        protobuf message, with the retained `data` index naming their types."""
        from .replay import MqttReplayPublisher, Replay

        wanted = None if topics is None else set([topics] if isinstance(topics, str) else topics)
        messages = [message for message in self.messages if wanted is None or message.topic in wanted]
        publisher = None
        if mqtt is not None:
            sid = simulation_id if simulation_id is not None else int(self.metadata.get("simulationID", 0))
            publisher = MqttReplayPublisher(mqtt, prefix, sid, messages)
        return Replay(messages, speed=speed, publisher=publisher)


def fetch_bytes(connection, simulation_id: int, timeout: float) -> bytes:
    """The recording's bytes; the connection's errors for an error answer. (`Connection.request`
    reads JSON only.)"""
    url = f"{connection.url}nrp/simulation/{simulation_id}/recording"
    described = f"GET {url}"
    headers = {"Accept": "application/octet-stream", **connection.headers()}
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read()
    except urllib.error.HTTPError as error:
        raise error_from_response(error.code, error.reason, error.read(), described) from None
    except (urllib.error.URLError, OSError) as error:
        raise ServerUnreachable(f"cannot read the recording from {connection.url}: {error}",
                                request=described) from error


def _decoded(records):
    """(schema, channel, message, decoded) of each (schema, channel, message); JSON decoded here,
    protobuf by a class built from the recorded schema."""
    for schema, channel, message in records:
        if channel.message_encoding == JSON_ENCODING:
            yield schema, channel, message, json.loads(message.data)
        elif channel.message_encoding == PROTOBUF_ENCODING and schema is not None:
            yield schema, channel, message, _protobuf_decoder(schema)(message.data)


def _read_up_to_the_cut(data: bytes):
    """Streams the records of a file without its summary, as far as they go."""
    from mcap.records import Channel, Message, Metadata, Schema
    from mcap.stream_reader import StreamReader

    schemas, channels, found, metadata = {}, {}, [], {}
    # The cut: whatever the reader stumbles on there ends the file.
    with contextlib.suppress(Exception):
        for record in StreamReader(io.BytesIO(data)).records:
            if isinstance(record, Schema):
                schemas[record.id] = record
            elif isinstance(record, Channel):
                channels[record.id] = record
            elif isinstance(record, Metadata) and record.name == METADATA_NAME:
                metadata = dict(record.metadata)
            elif isinstance(record, Message) and record.channel_id in channels:
                channel = channels[record.channel_id]
                found.append((schemas.get(channel.schema_id), channel, record))
    found.sort(key=lambda entry: entry[2].log_time)
    return list(_decoded(found)), metadata


# Message classes built from recorded schemas (in pools of their own), by schema.
_DECODERS: dict = {}


def _protobuf_decoder(schema):
    key = (schema.name, schema.data)
    decoder = _DECODERS.get(key)
    if decoder is None:
        from mcap_protobuf.decoder import DecoderFactory

        decoder = _DECODERS[key] = DecoderFactory().decoder_for(PROTOBUF_ENCODING, schema)
    return decoder


def _message(schema, channel, message, decoded) -> RecordedMessage:
    return RecordedMessage(topic=channel.topic, wall_time=message.log_time / 1e9,
                           sim_time=message.publish_time / 1e9, payload=decoded, data=message.data,
                           encoding=channel.message_encoding,
                           schema=schema.name if schema is not None else "")


def _plain(payload) -> Any:
    """A protobuf message as a dict of its fields (defaults included; 64-bit integers stay numbers,
    bytes become their length); JSON as it is."""
    if not hasattr(payload, "DESCRIPTOR"):
        return payload
    fields = {}
    for field in payload.DESCRIPTOR.fields:
        value = getattr(payload, field.name)
        if field.message_type is not None and not field.message_type.GetOptions().map_entry:
            value = [_plain(item) for item in value] if _repeated(field) else _plain(value)
        elif _repeated(field):
            value = list(value)
        elif isinstance(value, bytes):
            value = len(value)
        fields[field.name] = value
    return fields


def _repeated(field) -> bool:
    return field.is_repeated


def _flatten(value, name: str = "") -> dict:
    if isinstance(value, dict):
        flat = {}
        for key, item in value.items():
            flat.update(_flatten(item, f"{name}.{key}" if name else str(key)))
        return flat
    if isinstance(value, list) and value and all(isinstance(item, (int, float)) for item in value):
        return {f"{name}[{index}]": item for index, item in enumerate(value[:MAX_ELEMENTS])}
    return {name or "value": value}


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ImportError("Recording.frame() and frames() need pandas: pip install 'nrp-jupyter[analysis]' "
                          "(or pip install pandas)") from None
    return pandas
