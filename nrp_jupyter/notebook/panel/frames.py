"""Frames of the server's `/events` WebSocket, decoded into `Event`s the panel understands.

A frame is `{"simulationID": int, "topic": str, "payload": ...}`. The server sends the full MQTT
topic (`[<prefix>/]nrp_simulation/<id>/status`); the panel only needs its leaf after the
simulation's id (`status`, `runtime_error`, `lifecycle`, `data/<datapack>`), so both the full
topic and a bare leaf are accepted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_SIMULATION_LEVEL = "nrp_simulation"


class FrameError(ValueError):
    """A frame the panel cannot use; the message names the key that is wrong."""


@dataclass(frozen=True)
class Event:
    """One pushed message about one simulation."""

    simulation_id: int
    leaf: str
    """The topic below `nrp_simulation/<id>/`: `status`, `runtime_error`, `lifecycle`, `data/<datapack>`."""
    payload: Any

    @property
    def datapack(self) -> str | None:
        """The datapack's name for a `data/<datapack>` event, else None."""
        kind, _, name = self.leaf.partition("/")
        return name if kind == "data" and name else None


def topic_leaf(topic: str) -> str:
    """`status` for `a/b/nrp_simulation/3/status` (and for `status` itself)."""
    levels = topic.split("/")
    for index in range(len(levels) - 2):
        if levels[index] == _SIMULATION_LEVEL and levels[index + 1].isdigit():
            return "/".join(levels[index + 2:])
    return topic


def parse_frame(text: str | bytes) -> Event:
    """Decode one frame; raises `FrameError` naming what is missing or malformed."""
    try:
        frame = json.loads(text)
    except (TypeError, ValueError) as error:
        raise FrameError(f"frame is not JSON: {error}") from None
    if not isinstance(frame, dict):
        raise FrameError(f"frame must be a JSON object, not {type(frame).__name__}")
    simulation_id = frame.get("simulationID")
    if isinstance(simulation_id, bool) or not isinstance(simulation_id, int):
        raise FrameError(f"frame key 'simulationID' must be an integer, not {simulation_id!r}")
    topic = frame.get("topic")
    if not isinstance(topic, str) or not topic:
        raise FrameError(f"frame key 'topic' must be a non-empty string, not {topic!r}")
    if "payload" not in frame:
        raise FrameError(f"frame for topic {topic!r} has no key 'payload'")
    return Event(simulation_id=simulation_id, leaf=topic_leaf(topic), payload=frame["payload"])
