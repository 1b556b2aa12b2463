"""Experiments the client, magics and CLI tests add to a server's storage, next to the shipped ones.

Each is a copy of tf_exchange with one thing changed, written where a server finds experiments
(`<root>/experiments/<name>`); the functions are idempotent, so tests sharing a server may call them.
"""

import json
import pathlib

from tests.conftest import EXPERIMENTS, copy_experiment_folder

# Steps slowly for an hour of simulation time: stays `started` until stopped, and pauses at once.
RUNS_UNTIL_STOPPED = "client_runs_until_stopped"
# Its main script raises a ValueError at RAISING_LINE after a few steps.
RAISES = "client_raises"
RAISING_LINE = 4
RAISING_SCRIPT = """# Steps a little, then fails the way a user's script does.
for _ in range(3):
    nrp.run_loop(1)
raise ValueError("the controller diverged")
"""
SLOW_SCRIPT = """import time

while True:
    nrp.run_loop(1)
    time.sleep(0.05)
"""
# Its main script does not compile: a syntax error at BROKEN_LINE.
DOES_NOT_COMPILE = "client_does_not_compile"
BROKEN_LINE = 2
BROKEN_SCRIPT = "nrp.run_loop(1)\nthis line is not python\n"
# tf_exchange with a second main script, `other_script.py`, that logs a marker and returns.
OTHER_SCRIPT = "other_script.py"
OTHER_SCRIPT_MARKER = "other script ran to its end"
WITH_OTHER_SCRIPT = "client_other_script"


def _copy_tf_exchange(root: pathlib.Path, name: str) -> pathlib.Path:
    target = pathlib.Path(root) / "experiments" / name
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", target, dirs_exist_ok=True, ignore=("*.zip",))
    return target


def add_runs_until_stopped(root: pathlib.Path) -> str:
    target = _copy_tf_exchange(root, RUNS_UNTIL_STOPPED)
    config = json.loads((target / "simulation_config.json").read_text())
    config["SimulationTimeout"] = 3600
    (target / "simulation_config.json").write_text(json.dumps(config, indent=1))
    (target / "main_script.py").write_text(SLOW_SCRIPT)
    return RUNS_UNTIL_STOPPED


def add_raises(root: pathlib.Path) -> str:
    target = _copy_tf_exchange(root, RAISES)
    (target / "main_script.py").write_text(RAISING_SCRIPT)
    return RAISES


def add_does_not_compile(root: pathlib.Path) -> str:
    target = _copy_tf_exchange(root, DOES_NOT_COMPILE)
    (target / "main_script.py").write_text(BROKEN_SCRIPT)
    return DOES_NOT_COMPILE


def add_with_other_script(root: pathlib.Path) -> str:
    target = _copy_tf_exchange(root, WITH_OTHER_SCRIPT)
    (target / OTHER_SCRIPT).write_text(f"nrp.run_loop(1)\nprint({OTHER_SCRIPT_MARKER!r})\n"
                                       f"file_logger.warning({OTHER_SCRIPT_MARKER!r})\n")
    return WITH_OTHER_SCRIPT
