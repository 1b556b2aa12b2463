"""Everything the server tells the world about simulations, on NRP's MQTT topics and to the
WebSocket listeners of clients that cannot reach the broker. Both receive the same messages."""

from __future__ import annotations

import logging
from collections.abc import Callable

from engines.mqtt import topics

log = logging.getLogger(__name__)

Listener = Callable[[int, str, object], None]


class StatusPublisher:
    def __init__(self, mqtt, prefix: str, node_id: str):
        self._mqtt = mqtt
        self.prefix = prefix
        self.node_id = node_id
        self._listeners: set[Listener] = set()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def _send(self, simulation_id: int, topic: str, payload, *, retain: bool = False) -> None:
        if self._mqtt is not None:
            self._mqtt.publish(topic, payload, retain=retain)
        self._notify(simulation_id, topic, payload)

    def _notify(self, simulation_id: int, topic: str, payload) -> None:
        for listener in list(self._listeners):
            try:
                listener(simulation_id, topic, payload)
            except Exception:  # noqa: BLE001 (a broken listener is dropped, the others still hear)
                log.exception("status listener failed; dropping it")
                self._listeners.discard(listener)

    def status(self, simulation_id: int, status: dict) -> None:
        """NRP's status payload: realTime, simulationTime, state, simulationTimeLeft."""
        self._send(simulation_id, topics.status(self.prefix, simulation_id), status)

    def progress(self, simulation_id: int, task: str, subtask: str = "", *, index: int = 0, count: int = 1,
                 done: bool = False) -> None:
        progress = ({"task": task, "done": True} if done else
                    {"task": task, "subtask": subtask, "number_of_subtasks": count, "subtask_index": index,
                     "block_ui": True})
        self._send(simulation_id, topics.status(self.prefix, simulation_id), {"progress": progress})

    def kernel_progress(self, simulation_id: int, progress: dict) -> None:
        """A progress message of the kernel's (NRP's progress payload, as the kernel built it)."""
        self._send(simulation_id, topics.status(self.prefix, simulation_id), {"progress": progress})

    def runtime_error(self, simulation_id: int, error: dict) -> None:
        self._send(simulation_id, topics.runtime_error(self.prefix, simulation_id),
                   {"sim_id": str(simulation_id), **error})

    def lifecycle(self, simulation_id: int, source: str, event: str, target: str) -> None:
        # Retained only for the launch, as NRP does, so that a late subscriber learns of it.
        self._send(simulation_id, topics.lifecycle(self.prefix, simulation_id),
                   {"source_node": self.node_id, "source_state": source, "event": event, "target_state": target},
                   retain=source == "created")

    def steering(self, simulation_id: int, event: dict) -> None:
        """A steering applied to an engine (controls.py): `{ticket, engine, datapack, value, type,
        simulationTime, wallTime, who}`, on MQTT (QoS 0, not retained) and to the listeners alike."""
        self._send(simulation_id, topics.steering(self.prefix, simulation_id), event)

    def datapack(self, simulation_id: int, datapack: str, batch: dict) -> None:
        """A batch of decoded datapack samples (data_bridge.py), for the listeners only: MQTT
        already carries the datatransfer engine's own stream."""
        self._notify(simulation_id, f"data/{datapack}", batch)

    def forget(self, simulation_id: int) -> None:
        """Clears the retained lifecycle message of a simulation that has ended."""
        if self._mqtt is not None:
            self._mqtt.clear_retained(topics.lifecycle(self.prefix, simulation_id))
