"""Copies of the shipped experiments for tests, without what earlier runs left in them.

Running an experiment archives its logs into its folder: the README's `jupyter nrp run tf_exchange`
leaves `<time>_simulation_<id>.log.zip` in experiments/tf_exchange. Tests copy experiments without
such files, so that they count only the archives they made, whatever ran before them.
"""

import pathlib
import shutil

RUN_ARTEFACTS = ("__pycache__", "*.log", "*.log.zip", "*_data.zip", "*_simulation_*.mcap")


def copy_experiment_folder(source: pathlib.Path, target: pathlib.Path, *, ignore=(),
                           **copytree_options) -> pathlib.Path:
    """Copies an experiment folder without run artefacts (and without the `ignore` patterns)."""
    return shutil.copytree(source, target, ignore=shutil.ignore_patterns(*RUN_ARTEFACTS, *ignore),
                           **copytree_options)
