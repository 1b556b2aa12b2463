"""What a simulation's run leaves, and what its logs say: the archives of its logs and data, why it
failed (written at the end of its log), and which engines NRPCoreSim's log shows unfinished."""

from __future__ import annotations

import logging
import pathlib
import shutil

from .errors import NrpError
from .lifecycle import FINAL_STATES
from .models import Simulation
from .storage import ExperimentStorage

log = logging.getLogger(__name__)

# nrp-core's datatransfer engine and where it writes its file dumps unless told otherwise.
DATATRANSFER_ENGINE = "datatransfer_grpc_engine"
DEFAULT_DATA_DIRECTORY = "data"


def archive_run(storage: ExperimentStorage, record: Simulation, simulation_dir: pathlib.Path) -> bool:
    """Zips a simulation's logs and its datatransfer engines' files into its experiment's folder
    (or the storage's runs area, when the experiment folder is gone).

    False if the logs or the data could not be archived: the simulation directory must then be
    kept, since removing it would delete the run's results.
    """
    sid = record.simulation_id
    if not simulation_dir.is_dir():
        return True
    stamp = storage.archive_stamp()
    try:
        storage.archive_logs(simulation_dir, record.experiment_id, sid, stamp=stamp)
    except NrpError as error:
        log.warning("simulation %d: logs not archived (%s); they stay in %s", sid, error, simulation_dir)
        return False
    folders = data_directories(simulation_dir / record.experiment_configuration)
    try:
        archive = storage.archive_data(simulation_dir, folders, record.experiment_id, sid, stamp=stamp)
    except NrpError as error:
        log.warning("simulation %d: data not archived (%s); its files stay in %s", sid, error,
                    simulation_dir)
        return False
    if archive is not None:
        log.info("simulation %d: data archived into %s", sid, archive)
    if record.state in FINAL_STATES:
        _archive_left_recording(storage, record, simulation_dir, stamp)
    return True


def _archive_left_recording(storage: ExperimentStorage, record: Simulation, simulation_dir: pathlib.Path,
                            stamp: str) -> None:
    """A recording still in the directory of a simulation that is already final was left by a
    server that died (the recorder archives its own once the simulation is final, after this): it
    is kept as it is, cut short, beside the logs. Only a regular file, never a link."""
    from .recording import format as fmt

    left = simulation_dir / fmt.LIVE_FILE_NAME
    if not left.is_file() or left.is_symlink():
        return
    try:
        folder = storage.archive_folder(record.experiment_id)
        copy = 1
        while (folder / fmt.archive_name(stamp, record.simulation_id, copy)).exists():
            copy += 1
        shutil.copyfile(left, folder / fmt.archive_name(stamp, record.simulation_id, copy))
    except (NrpError, OSError) as error:
        log.warning("simulation %d: its unfinished recording was not archived: %s", record.simulation_id,
                    error)


def data_directories(config_path: pathlib.Path) -> list[str]:
    """The `dataDirectory` of every datatransfer engine of the simulation's config (nrp-core's
    default `data` where it is not set); `["data"]` if the config cannot be read any more."""
    from engines.errors import ConfigError
    from engines.nrpcoresim.config import load_simulation_config

    try:
        config = load_simulation_config(config_path)
    except (ConfigError, OSError) as error:
        log.warning("%s cannot be read (%s); archiving the default data directory", config_path, error)
        return [DEFAULT_DATA_DIRECTORY]
    return [engine.get("dataDirectory", DEFAULT_DATA_DIRECTORY) for engine in config.get("EngineConfigs", [])
            if engine.get("EngineType") == DATATRANSFER_ENGINE]


def unfinished_engines(record: Simulation) -> str:
    """Which engines NRPCoreSim's log shows still launching or initializing, for a launch that
    timed out: `: engine 'python_1' did not finish its initialize`, or nothing."""
    from engines.engine_progress import unfinished
    from kernel_ext.core_launch import nrpcore_log_name

    log_file = pathlib.Path(record.simulation_dir) / nrpcore_log_name(str(record.simulation_id))
    try:
        text = log_file.read_text(errors="replace")
    except OSError:
        return ""
    steps = unfinished(text)
    if not steps:
        return ""
    return ": " + ", ".join(f"engine '{engine}' did not finish its {step}" for engine, step in steps)


def simulation_log_name(simulation_id: int) -> str:
    """The log of the kernel's output (the main script's prints among it), in the simulation directory."""
    return f"simulation_{simulation_id}.log"


def note_failure(record: Simulation, log_file: pathlib.Path) -> None:
    """Writes why the simulation failed at the end of its log, so that its archive says it too:
    a script that does not compile fails before it prints anything."""
    if not record.reason:
        return
    lines = [f"simulation {record.simulation_id} failed: {record.reason}"]
    error = record.runtime_error or {}
    if error.get("fileName"):
        lines.append(f"  {error['fileName']}, line {error.get('line_number', '?')}: {error.get('msg')}")
        if error.get("line_text"):
            lines.append(f"    {error['line_text']}")
    try:
        with open(log_file, "a", encoding="utf-8") as output:
            output.write("\n".join(lines) + "\n")
    except OSError as failure:
        log.warning("simulation %d: could not note its failure in %s: %s", record.simulation_id, log_file, failure)
