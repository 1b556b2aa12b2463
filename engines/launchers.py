"""Engine process launchers, selected by `EngineLaunchCommand.LaunchType`.

`BasicFork` starts the engine as a child process and stops it with SIGTERM, then SIGKILL after a
grace period. `EmptyLaunchCommand` starts nothing: the engine was started by someone else,
possibly on another machine, and is reached at its `ServerAddress`.
"""

from __future__ import annotations

import os
import pathlib
import shlex
import shutil
import signal
import subprocess
import sys
from abc import ABC, abstractmethod

from .errors import EngineLaunchError


class Launcher(ABC):
    """Starts and stops one engine's process."""

    def __init__(self, engine_name: str):
        self.engine_name = engine_name

    @property
    def launches_process(self) -> bool:
        return True

    @abstractmethod
    def start(self, command: list[str], env_params: list[str], output, cwd=None) -> None:
        """Starts the engine with `command` in `cwd`; `env_params` are extra `K=V` variables."""

    @abstractmethod
    def exit_code(self) -> int | None:
        """None while the engine runs (or is not ours to watch), its exit status once it ended."""

    @abstractmethod
    def stop(self, grace_s: float) -> None:
        """Ends the engine's process, waiting at most `grace_s` before killing it."""

    def terminate(self) -> None:
        """Asks the engine's process to end, without waiting."""

    def wait(self, timeout: float) -> int | None:
        """Waits up to `timeout` for the process to end; its exit status, or None."""
        return None


class BasicFork(Launcher):
    def __init__(self, engine_name: str):
        super().__init__(engine_name)
        self._process: subprocess.Popen | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, command: list[str], env_params: list[str], output, cwd=None) -> None:
        env = dict(os.environ)
        for assignment in env_params:
            key, sep, value = assignment.partition("=")
            if not sep or not key:
                raise EngineLaunchError(self.engine_name, f"EngineEnvParams entry '{assignment}' is not KEY=VALUE")
            env[key] = os.path.expandvars(value)
        # Lets the engine notice that this process died, so it never outlives the simulation.
        env["NRP_PARENT_PID"] = str(os.getpid())
        executable = resolve_command(command[0])
        try:
            self._process = subprocess.Popen([executable, *command[1:]], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                             stdout=output, stderr=subprocess.STDOUT if output else None)
        except OSError as error:
            raise EngineLaunchError(self.engine_name, f"cannot start '{command[0]}': {error.strerror}") from None

    def exit_code(self) -> int | None:
        return self._process.poll() if self._process else None

    def terminate(self) -> None:
        """Sends SIGTERM without waiting, so that several engines can stop at once."""
        if self._process is not None and self._process.poll() is None:
            try:
                self._process.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass

    def stop(self, grace_s: float) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        except ProcessLookupError:
            pass

    def wait(self, timeout: float) -> int | None:
        if self._process is None:
            return None
        try:
            return self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None


class EmptyLaunchCommand(Launcher):
    @property
    def launches_process(self) -> bool:
        return False

    def start(self, command: list[str], env_params: list[str], output, cwd=None) -> None:
        pass

    def exit_code(self) -> int | None:
        return None

    def stop(self, grace_s: float) -> None:
        pass


LAUNCHERS = {"BasicFork": BasicFork, "EmptyLaunchCommand": EmptyLaunchCommand}


def make_launcher(engine_config: dict) -> Launcher:
    name = engine_config["EngineName"]
    launch_type = engine_config.get("EngineLaunchCommand", {}).get("LaunchType", "BasicFork")
    if launch_type not in LAUNCHERS:
        raise EngineLaunchError(name, f"LaunchType '{launch_type}' is not supported here "
                                      f"(supported: {', '.join(sorted(LAUNCHERS))})")
    return LAUNCHERS[launch_type](name)


def resolve_command(word: str) -> str:
    """A bare command name is looked up next to the running interpreter first, then on PATH, so
    that the engines installed with NRPCoreSim are found even when its environment is not on PATH."""
    if os.sep in word:
        return word
    beside = pathlib.Path(sys.executable).parent / word
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(word) or word


def split_command(command: str) -> list[str]:
    return shlex.split(os.path.expandvars(command))
