"""What `GET /simulation/<id>/recording` serves: the archived recording of a simulation that has
ended, or a 404 that says why there is none."""

from __future__ import annotations

import pathlib
from datetime import datetime

from ..errors import ClientError
from ..lifecycle import FINAL_STATES
from ..storage import ExperimentStorage
from . import format as fmt
from .recorder import RunRecorder


class RecordingNotFound(ClientError):
    """The simulation exists but has no archived recording (yet)."""

    http_status = 404


class Recordings:
    """`simulations` is the SimulationService; `recorder` None when recording is off."""

    def __init__(self, simulations, storage: ExperimentStorage, recorder: RunRecorder | None):
        self._simulations = simulations
        self._storage = storage
        self._recorder = recorder

    async def path(self, simulation_id: int) -> pathlib.Path:
        """The newest archived recording of the simulation. Raises SimulationNotFound for an unknown
        id, RecordingNotFound while it runs or when it left none."""
        record = self._simulations.get(simulation_id)
        if record.state not in FINAL_STATES:
            raise RecordingNotFound(f"simulation {simulation_id} is {record.state.value}: its recording can "
                                    f"be read once it has stopped")
        if self._recorder is not None and self._recorder.knows(simulation_id):
            # The writer archives it just after the final transition: a read right after a stop waits.
            archive = await self._recorder.archived(simulation_id)
            if archive is None or not archive.is_file():
                raise RecordingNotFound(f"simulation {simulation_id} left no recording: its recording failed "
                                        f"(the server's log says why)")
            return archive
        # Recorded by an earlier server (or one that ran before this one was restarted): the newest
        # archive of the id that is not older than the simulation (ids restart on a fresh root).
        created = _timestamp(record.creation_date)
        archives = sorted((path for folder in self._storage.archive_folders(record.experiment_id)
                           for pattern in fmt.archive_patterns(simulation_id) for path in folder.glob(pattern)
                           if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= created),
                          key=lambda path: path.name)
        if not archives:
            why = ("recording is off on this server (NrpJupyterApp.record_runs)" if self._recorder is None
                   else "it was not recorded")
            raise RecordingNotFound(f"simulation {simulation_id} left no recording: {why}")
        return archives[-1]


def _timestamp(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso).timestamp()
    except (TypeError, ValueError):
        return 0.0
