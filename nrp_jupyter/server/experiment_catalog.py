"""What an experiment folder offers to launch: its simulation configs and its candidate main scripts.

A launch names a config (`experimentConfiguration`) and a main script (`mainScript`) inside the experiment
folder; clients such as JupyterLab's side panel offer these as choices. Only the folder's top level
is looked at, as a launch does. A config is a JSON object with `EngineConfigs` (or the default
`simulation_config.json`); a main script is any top-level `.py` file that no config names as an
engine script or a datapack function, since those are not meant to be run as the main script.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from nrp_jupyter.server.models import DEFAULT_CONFIGURATION, DEFAULT_MAIN_SCRIPT
from nrp_jupyter.server.storage import ExperimentStorage

# Larger JSON files are no configs worth offering, and reading them would slow every listing.
MAX_CONFIG_BYTES = 1 << 20
# nrp-core config keys whose values name Python files of the experiment that are not main scripts.
_SCRIPT_REFERENCES = ("PythonFileName", "FileName")


def describe_experiments(storage: ExperimentStorage) -> list[dict]:
    """Each experiment of `storage.list_experiments()`, described by `describe_experiment`."""
    return [describe_experiment(experiment_id, storage.root / experiment_id)
            for experiment_id in storage.list_experiments()]


def describe_experiment(experiment_id: str, folder: Path) -> dict:
    """`{"id", "name", "description", "configs", "scripts"}` of the experiment in `folder`; the
    defaults come first in both lists. `name` and `description` are the default config's
    `SimulationName` and `SimulationDescription` (or the first config's), if any."""
    configs: dict[str, dict] = {}
    scripts: list[str] = []
    for entry in _top_level_files(folder):
        if entry.name.endswith(".json"):
            config = _read_config(entry)
            if config is not None:
                configs[entry.name] = config
        elif entry.name.endswith(".py"):
            scripts.append(entry.name)
    referenced = {name for config in configs.values() for name in _named_files(config)}
    config_names = _defaults_first(configs, DEFAULT_CONFIGURATION)
    main = configs.get(DEFAULT_CONFIGURATION) or (configs[config_names[0]] if config_names else {})
    return {
        "id": experiment_id,
        "name": _text(main.get("SimulationName")) or experiment_id,
        "description": _text(main.get("SimulationDescription")),
        "configs": config_names,
        "scripts": _defaults_first([name for name in scripts if name not in referenced], DEFAULT_MAIN_SCRIPT),
    }


def _top_level_files(folder: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(folder) as entries:
            # No symbolic links: a launch's copy of the folder does not follow them either.
            return [entry for entry in entries if entry.is_file(follow_symlinks=False)]
    except OSError:
        return []


def _read_config(entry: os.DirEntry) -> dict | None:
    """The JSON object in `entry` if it is an nrp-core simulation config, else None."""
    try:
        if entry.stat(follow_symlinks=False).st_size > MAX_CONFIG_BYTES:
            return None
        with open(entry.path, encoding="utf-8") as file:
            value = json.load(file)
    except (OSError, ValueError):
        return None
    if not isinstance(value, dict):
        return None
    if entry.name != DEFAULT_CONFIGURATION and "EngineConfigs" not in value:
        return None
    return value


def _named_files(value) -> set[str]:
    """Every string under a `PythonFileName` or `FileName` key, at any depth of the config."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if key in _SCRIPT_REFERENCES and isinstance(item, str):
                found.add(item)
            else:
                found |= _named_files(item)
    elif isinstance(value, list):
        for item in value:
            found |= _named_files(item)
    return found


def _defaults_first(names, default: str) -> list[str]:
    return sorted(names, key=lambda name: (name != default, name))


def _text(value) -> str:
    return value if isinstance(value, str) else ""
