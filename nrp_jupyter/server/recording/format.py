"""The layout of a run's recording: one MCAP file per simulation (https://mcap.dev, the log format
Foxglove and ROS 2 tools open). The notebook client reads it by what the file says of itself; the
names it relies on are these, and tests/nrp_jupyter/recording checks that both sides agree.

    channel topic        message encoding  schema                        what
    status               json              jsonschema nrp.Status         NRP's status and progress payloads
    lifecycle            json              jsonschema nrp.Lifecycle      every lifecycle transition
    runtime_error        json              jsonschema nrp.RuntimeError   every runtime error
    steering             json              jsonschema nrp.Steering       every steering applied to an engine
    <other leaf>         json              jsonschema nrp.Message        any other message of the server's
    data/<datapack>      protobuf          the datapack's protobuf type  each datapack a datatransfer
                         (with its FileDescriptorSet)                    engine streamed

Topics are the MQTT topics' leaves, below `[prefix/]nrp_simulation/<id>/`. Datapacks are stored as
their own message (the DataPackMessage envelope of the stream is taken off), so any MCAP tool shows
their fields.

Each message has two times: `log_time` is the wall clock (ns since the epoch) when the server
published or received it; `publish_time` is the simulation time (ns) then: a status message's own
`simulationTime`, a steering event's the `simulationTime` it took effect at, for every other message
the `simulationTime` of the simulation's latest status (0 before the first), so its resolution is
the status interval.

A metadata record `nrp_jupyter.recording` names the simulation (`simulationID`, `experimentID`,
`experimentConfiguration`, `mainScript`, `mqttPrefix`) and the `formatVersion`.
"""

from __future__ import annotations

import json

FORMAT_VERSION = "1"
#: The recording's name in the simulation directory while the simulation runs.
LIVE_FILE_NAME = "recording.mcap"
#: The archive's suffix: `<YYYY-mm-dd_HH-MM-SS>_simulation_<id>.mcap` beside the log archive.
ARCHIVE_SUFFIX = ".mcap"
METADATA_NAME = "nrp_jupyter.recording"

STATUS = "status"
LIFECYCLE = "lifecycle"
RUNTIME_ERROR = "runtime_error"
STEERING = "steering"
DATA_PREFIX = "data/"

JSON_ENCODING = "json"
JSON_SCHEMA_ENCODING = "jsonschema"
PROTOBUF_ENCODING = "protobuf"

_NUMBER = {"type": "number"}
_STRING = {"type": "string"}
# Loose on purpose: they describe what the server sends (nrp.md §1.5) for tools that show schemas,
# they do not police it; a recording must never refuse a message the server published.
JSON_SCHEMAS: dict[str, tuple[str, dict]] = {
    STATUS: ("nrp.Status", {
        "title": "NRP status or progress message", "type": "object",
        "properties": {"realTime": _NUMBER, "simulationTime": _NUMBER, "simulationTimeLeft": _NUMBER,
                       "state": _STRING, "progress": {"type": "object"}}}),
    LIFECYCLE: ("nrp.Lifecycle", {
        "title": "NRP lifecycle transition", "type": "object",
        "properties": {"source_node": _STRING, "source_state": _STRING, "event": _STRING,
                       "target_state": _STRING}}),
    RUNTIME_ERROR: ("nrp.RuntimeError", {
        "title": "NRP runtime error", "type": "object",
        "properties": {"sim_id": _STRING, "msg": _STRING, "error_type": _STRING, "fileName": _STRING,
                       "line_number": {"type": "integer"}, "offset": {"type": "integer"},
                       "line_text": _STRING}}),
    STEERING: ("nrp.Steering", {
        "title": "A steering applied to an engine's datapack", "type": "object",
        "properties": {"ticket": {"type": "integer"}, "engine": _STRING, "datapack": _STRING, "value": {},
                       "type": {"type": ["string", "null"]}, "simulationTime": _NUMBER, "wallTime": _NUMBER,
                       "who": _STRING}}),
}
OTHER_SCHEMA: tuple[str, dict] = ("nrp.Message", {"title": "A message of the NRP server", "type": "object"})


def json_schema(topic: str) -> tuple[str, bytes]:
    """The schema name and JSON schema (encoded) of a JSON topic."""
    name, schema = JSON_SCHEMAS.get(topic, OTHER_SCHEMA)
    return name, json.dumps(schema).encode()


def archive_name(stamp: str, simulation_id: int, copy: int = 1) -> str:
    return f"{stamp}_simulation_{simulation_id}{f'_{copy}' if copy > 1 else ''}{ARCHIVE_SUFFIX}"


def archive_patterns(simulation_id: int) -> tuple[str, str]:
    """Globs for the archived recordings of a simulation (a second stop within a second gets `_2`)."""
    name = f"*_simulation_{simulation_id}"
    return f"{name}{ARCHIVE_SUFFIX}", f"{name}_[0-9]*{ARCHIVE_SUFFIX}"
