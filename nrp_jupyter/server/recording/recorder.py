"""The recorder: one more StatusPublisher listener (and a DataBridge tap for the raw datapacks),
which writes every simulation's messages into its MCAP recording (format.py) on a thread of its own.

    server's event loop     listen(): stamps the message, serialises it, queues it      (microseconds)
    paho's thread           tap(): stamps the raw datapack, queues it                   (microseconds)
    nrp-recorder thread     opens, writes, closes and archives the recordings

A recording opens with the first message of a simulation that has its directory (the launch's first
progress message comes before the clone and is kept until then), lives in that directory as
`recording.mcap`, and ends with the status that follows the simulation's final transition (stopped or failed).
That transition comes after the service has archived the logs and removed the directory, so the
writer keeps the file open across the removal and, at the end, copies it from its open file into
the experiment's folder as `<stamp>_simulation_<id>.mcap`, beside the log archive.

A recording that fails (the disk is full, a write raises) is logged once and abandoned; the
simulation never notices. A datapack of a type this installation cannot describe is skipped, with
one warning per topic.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import pathlib
import queue
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from google.protobuf.message import DecodeError

from nrp_protobuf import engine_grpc_pb2

from ..errors import NrpError, SimulationNotFound
from ..lifecycle import FINAL_STATES
from ..models import Simulation
from ..storage import ExperimentStorage
from . import format as fmt
from .mcap_file import RecordingFile, UnknownDataPackType

log = logging.getLogger(__name__)

# Messages waiting for the writer beyond which new ones are dropped (and counted): a writer that
# cannot keep up must not grow the server's memory without bound.
MAX_QUEUED = 200_000
# Messages of a simulation kept until its directory exists (the launch's first progress message).
MAX_EARLY = 100
_FINAL_STATE_NAMES = frozenset(state.value for state in FINAL_STATES)
_OPEN, _JSON, _DATAPACK, _END, _STOP, _FAIL = range(6)
# What the datatransfer engine streams by default (`streamDataPackMessage`): the datapack in an envelope.
_ENVELOPE_TYPE = engine_grpc_pb2.DataPackMessage.DESCRIPTOR.full_name


@dataclass
class _Recording:
    """A recording the writer thread has open."""

    stream: BinaryIO
    file: RecordingFile
    experiment_id: str
    skipped_topics: set[str] = field(default_factory=set)


class RunRecorder:
    """Records every simulation that `records` (the service's `get`: a record by id, or
    SimulationNotFound) knows into its directory, and archives each recording into `storage` when
    the simulation ends."""

    def __init__(self, storage: ExperimentStorage, records: Callable[[int], Simulation],
                 mqtt_prefix: str = ""):
        self._storage = storage
        self._records = records
        self._mqtt_prefix = mqtt_prefix
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        #: Messages dropped because the writer was behind by MAX_QUEUED.
        self.dropped = 0
        # The event loop's view (listen, tap read `_recording` only).
        self._recording: set[int] = set()
        self._ended: set[int] = set()
        self._early: dict[int, list[tuple]] = {}
        self._sim_time_ns: dict[int, int] = {}
        self._archives: dict[int, concurrent.futures.Future] = {}
        self._broken = False
        # The writer thread's.
        self._open: dict[int, _Recording] = {}

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._write_loop, name="nrp-recorder", daemon=True)
            self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Writes what is queued, abandons the recordings still open (their simulations did not end)
        and ends the writer thread."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put((_STOP,))
            thread.join(timeout_s)

    # -- the server's event loop -----------------------------------------------------------------

    def listen(self, simulation_id: int, topic: str, payload) -> None:
        """StatusPublisher listener. Never raises: the publisher would drop it for good."""
        if self._broken:
            return
        try:
            self._listen(simulation_id, topic, payload)
        except Exception:  # a bug here must reach neither the publisher nor the simulation
            self._broken = True
            log.exception("the run recorder failed; no simulation is recorded from now on")

    def _listen(self, simulation_id: int, topic: str, payload) -> None:
        if simulation_id in self._ended:
            return
        leaf = _leaf(topic)
        if leaf.startswith(fmt.DATA_PREFIX):
            return  # the bridge's decoded samples: the raw datapacks come through tap()
        if leaf == fmt.STATUS and isinstance(payload, dict) and "simulationTime" in payload:
            with contextlib.suppress(TypeError, ValueError):
                self._sim_time_ns[simulation_id] = round(float(payload["simulationTime"]) * 1e9)
        sim_time_ns = self._sim_time_ns.get(simulation_id, 0)
        if leaf == fmt.STEERING and isinstance(payload, dict) and "simulationTime" in payload:
            with contextlib.suppress(TypeError, ValueError):
                sim_time_ns = round(float(payload["simulationTime"]) * 1e9)  # when it took effect
        # Serialised here: the payload is the caller's and may change once this returns.
        try:
            data = json.dumps(payload, separators=(",", ":")).encode()
        except (TypeError, ValueError) as error:
            if simulation_id in self._recording:
                failure = ValueError(f"a {leaf} message that is no JSON value: {error}")
                self._put((_FAIL, simulation_id, failure))
            return
        message = (_JSON, simulation_id, leaf, data, time.time_ns(), sim_time_ns)
        if simulation_id not in self._recording and not self._begin(simulation_id, message):
            return
        self._put(message)
        # The service publishes the final transition, then the status that says it: the last message.
        if leaf == fmt.STATUS and isinstance(payload, dict) and payload.get("state") in _FINAL_STATE_NAMES:
            self._end(simulation_id)

    def _begin(self, simulation_id: int, message: tuple) -> bool:
        """Opens the recording of a running simulation once it has its directory; until then keeps
        its messages. False if `message` is not to be queued now."""
        try:
            record = self._records(simulation_id)
        except SimulationNotFound:
            record = None
        if record is None or record.state in FINAL_STATES:
            if record is not None and simulation_id in self._early:
                self._end(simulation_id)  # a launch that failed before its directory existed
            return False
        if not record.simulation_dir:
            early = self._early.setdefault(simulation_id, [])
            if len(early) < MAX_EARLY:
                early.append(message)
            return False
        metadata = {"simulationID": str(simulation_id), "experimentID": record.experiment_id,
                    "experimentConfiguration": record.experiment_configuration,
                    "mainScript": record.main_script, "mqttPrefix": self._mqtt_prefix}
        path = pathlib.Path(record.simulation_dir) / fmt.LIVE_FILE_NAME
        self._queue.put((_OPEN, simulation_id, path, metadata, record.experiment_id))
        self._recording.add(simulation_id)
        self._archives[simulation_id] = concurrent.futures.Future()
        for early in self._early.pop(simulation_id, []):
            self._put(early)
        return True

    def _end(self, simulation_id: int) -> None:
        self._ended.add(simulation_id)
        self._recording.discard(simulation_id)
        self._early.pop(simulation_id, None)
        self._sim_time_ns.pop(simulation_id, None)
        if simulation_id in self._archives:
            self._queue.put((_END, simulation_id, self._archives[simulation_id]))

    async def archived(self, simulation_id: int, timeout_s: float = 30.0) -> pathlib.Path | None:
        """The archive of a simulation's recording once the writer has made it (None when it made
        none); None at once for a simulation this recorder never recorded."""
        future = self._archives.get(simulation_id)
        if future is None:
            return None
        try:
            # Shielded: a reader that gives up must not cancel the writer's future for the next one.
            return await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), timeout_s)
        except TimeoutError:
            return None

    def knows(self, simulation_id: int) -> bool:
        """Whether this recorder recorded (or records) the simulation."""
        return simulation_id in self._archives

    # -- paho's thread ---------------------------------------------------------------------------

    def tap(self, simulation_id: int, datapack: str, wire_type: str | None, payload: bytes) -> None:
        """DataBridge tap: a raw datapack of a datatransfer engine's stream, as it arrives."""
        if simulation_id in self._recording:
            self._put((_DATAPACK, simulation_id, fmt.DATA_PREFIX + datapack, wire_type or "", payload,
                       time.time_ns(), self._sim_time_ns.get(simulation_id, 0)))

    def _put(self, item: tuple) -> None:
        if self._queue.qsize() >= MAX_QUEUED:
            self.dropped += 1
            if self.dropped == 1:
                log.warning("the run recorder is %d messages behind; dropping messages until it catches up",
                            MAX_QUEUED)
            return
        self._queue.put(item)

    # -- the writer thread -----------------------------------------------------------------------

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            kind, simulation_id = item[0], (item[1] if len(item) > 1 else None)
            if kind == _STOP:
                break
            try:
                if kind == _OPEN:
                    self._open_recording(*item[1:])
                elif simulation_id in self._open:
                    if kind == _JSON:
                        self._open[simulation_id].file.write_json(*item[2:])
                    elif kind == _DATAPACK:
                        self._write_datapack(simulation_id, *item[2:])
                    elif kind == _END:
                        item[2].set_result(self._archive(simulation_id))
                    elif kind == _FAIL:
                        self._abandon(simulation_id, item[2])
                elif kind == _END:
                    item[2].set_result(None)  # abandoned earlier, or never opened
            except Exception as error:  # disk full, a bad payload, a bug: never the simulation's problem
                self._abandon(simulation_id, error)
                if kind == _END and not item[2].done():
                    item[2].set_result(None)
        for simulation_id in list(self._open):
            self._abandon(simulation_id, RuntimeError("the server stopped before the simulation ended"))

    def _open_recording(self, simulation_id: int, path: pathlib.Path, metadata: dict,
                        experiment_id: str) -> None:
        # w+b: the writer reads the file back at the end, after its directory is gone.
        stream = open(path, "w+b")  # closed by _archive or _abandon
        try:
            recording = _Recording(stream, RecordingFile(stream, metadata), experiment_id)
        except BaseException:
            stream.close()
            raise
        self._open[simulation_id] = recording

    def _write_datapack(self, simulation_id: int, topic: str, wire_type: str, payload: bytes,
                        log_time_ns: int, sim_time_ns: int) -> None:
        recording = self._open[simulation_id]
        try:
            type_name, data = _unwrap(wire_type, payload)
            recording.file.write_protobuf(topic, type_name, data, log_time_ns, sim_time_ns)
        except (UnknownDataPackType, DecodeError) as error:
            if topic not in recording.skipped_topics:
                recording.skipped_topics.add(topic)
                log.warning("simulation %d: %s not recorded: %s", simulation_id, topic, error)

    def _archive(self, simulation_id: int) -> pathlib.Path:
        recording = self._open.pop(simulation_id)
        try:
            recording.file.finish()
            folder = self._storage.archive_folder(recording.experiment_id)
            archive = _free_name(folder, self._storage.archive_stamp(), simulation_id)
            partial = archive.with_name(f".{archive.name}.partial")
            try:
                recording.stream.seek(0)
                with open(partial, "wb") as copy:
                    shutil.copyfileobj(recording.stream, copy)
                os.replace(partial, archive)
            except BaseException:
                with contextlib.suppress(OSError):
                    partial.unlink(missing_ok=True)
                raise
        except NrpError as error:  # the storage's own (no folder for the archive)
            raise OSError(error.message) from error
        finally:
            recording.stream.close()
        log.info("simulation %d: recording of %d messages archived into %s", simulation_id,
                 recording.file.messages, archive)
        return archive

    def _abandon(self, simulation_id: int | None, error: Exception) -> None:
        recording = self._open.pop(simulation_id, None)
        if recording is not None:
            with contextlib.suppress(Exception):
                recording.stream.close()
        log.warning("simulation %s: recording stopped (%s: %s); the simulation goes on unrecorded",
                    simulation_id, type(error).__name__, error)


def _leaf(topic: str) -> str:
    """`status` of `[prefix/]nrp_simulation/<id>/status`; a bare leaf (`data/x`) as it is."""
    marker = "nrp_simulation/"
    at = topic.find(marker)
    if at < 0 or (at > 0 and topic[at - 1] != "/"):
        return topic
    return topic[at + len(marker):].partition("/")[2]


def _unwrap(wire_type: str, payload: bytes) -> tuple[str, bytes]:
    """The datapack's own type and bytes: the stream's DataPackMessage envelope taken off."""
    if wire_type and wire_type != _ENVELOPE_TYPE:
        return wire_type, payload
    envelope = engine_grpc_pb2.DataPackMessage()
    envelope.ParseFromString(payload)
    if not envelope.HasField("data"):
        raise DecodeError("a DataPackMessage without data")
    return envelope.data.TypeName(), envelope.data.value


def _free_name(folder: pathlib.Path, stamp: str, simulation_id: int) -> pathlib.Path:
    copy = 1
    while (folder / fmt.archive_name(stamp, simulation_id, copy)).exists():
        copy += 1  # a second archive of the simulation within one second; never overwrite
    return folder / fmt.archive_name(stamp, simulation_id, copy)
