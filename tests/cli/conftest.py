"""`jupyter nrp` runs as a real subprocess here; the shared server (`server`) comes from tests/conftest.py."""

import os
import subprocess

import pytest

from tests.conftest import BIN_DIR, EXPERIMENTS, copy_experiment_folder

JUPYTER = str(BIN_DIR / "jupyter")


@pytest.fixture
def cli_env(tmp_path, no_leftover_processes):
    """The environment of a `jupyter nrp` process: Jupyter's directories of its own, no MQTT
    settings from outside, and the test's process marker (no_leftover_processes)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("NRP_MQTT")}
    env.update(JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter" / "config"),
               JUPYTER_DATA_DIR=str(tmp_path / "jupyter" / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter" / "runtime"),
               PATH=f"{BIN_DIR}{os.pathsep}{os.environ.get('PATH', '')}", PYTHONUNBUFFERED="1")
    env.pop("JUPYTER_TOKEN", None)
    return env


@pytest.fixture
def project_dir(tmp_path):
    """A directory as a user has it: experiments/tf_exchange under the current directory."""
    root = tmp_path / "project"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", root / "experiments" / "tf_exchange", ignore=("*.zip",))
    return root


def run_cli(*args, cwd, env, timeout=120) -> subprocess.CompletedProcess:
    return subprocess.run([JUPYTER, "nrp", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def start_cli(*args, cwd, env) -> subprocess.Popen:
    return subprocess.Popen([JUPYTER, "nrp", *args], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL)

