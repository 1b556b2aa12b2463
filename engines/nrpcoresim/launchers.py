"""Engine process launchers, selected by `EngineLaunchCommand.LaunchType`.

`BasicFork` starts the engine as a child process and stops it with SIGTERM, then SIGKILL after a
grace period. `EmptyLaunchCommand` starts nothing: the engine was started by someone else,
possibly on another machine, and is reached at its `ServerAddress`. `InProcess` (this project's)
starts nothing either: the engine's script runs inside this process (engines/nrpcoresim/in_process).
"""

from __future__ import annotations

import os
import pathlib
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from typing import NamedTuple

from engines.errors import ConfigError, EngineLaunchError, EngineProgramUnavailable, EngineUnreachable
from engines.nrpcoresim.config.in_process import IN_PROCESS
from engines.nrpcoresim.config.server_address import EMPTY_LAUNCH_COMMAND, parse_server_address

# One connection attempt to an engine started elsewhere: a firewall that drops packets must cost
# seconds, not the kernel's two-minute connect timeout.
PROBE_TIMEOUT_S = 2.0
# Pause between attempts while waiting for such an engine to listen.
RETRY_INTERVAL_S = 0.1


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
            raise EngineProgramUnavailable(self.engine_name, f"cannot start '{command[0]}': {error.strerror}",
                                           program=command[0]) from None

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


class _NoProcess(Launcher):
    """A launcher that starts no process, so has none to watch, signal or wait for."""

    @property
    def launches_process(self) -> bool:
        return False

    def start(self, command: list[str], env_params: list[str], output, cwd=None) -> None:
        pass

    def exit_code(self) -> int | None:
        return None

    def stop(self, grace_s: float) -> None:
        pass


class EmptyLaunchCommand(_NoProcess):
    """Starts nothing: the engine was started by hand, possibly on another machine, and is reached
    at its ServerAddress. As in nrp-core, such an engine takes part in no registration and is never
    signalled: the shutdown request is all it gets from a simulation (the servers of this project
    exit after answering it).

    With no process to watch, the address stands in for it: `wait_listening` waits for the engine
    to accept connections, `unreachable` says whether it still does.
    """

    def __init__(self, engine_name: str, address: str):
        super().__init__(engine_name)
        self.address = address
        try:
            self._host, self._port = parse_server_address(address)
        except ValueError as error:
            raise ConfigError(f"{address!r} is not an address to reach engine {engine_name!r} at: {error}",
                              path="ServerAddress") from None

    def wait_listening(self, timeout_s: float, hint: str = "",
                       abandon: threading.Event | None = None) -> None:
        """Returns once something accepts connections at the address. Raises EngineLaunchError, naming
        the address, if nothing does within `timeout_s`, at once if the host name does not resolve,
        and soon after `abandon` is set (the simulation is being torn down)."""
        abandon = abandon or threading.Event()
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            failure = self._probe(max(0.05, min(PROBE_TIMEOUT_S, remaining)))
            if failure is None:
                return
            if failure.kind == "unresolved" or time.monotonic() >= deadline or abandon.is_set():
                waited = "" if failure.kind == "unresolved" else f" within {timeout_s:.0f} s"
                advice = f"; start it there first, e.g. `{hint}`" if hint else ""
                raise EngineUnreachable(self.engine_name,
                                        f"nothing answers at its ServerAddress {self.address}{waited} "
                                        f"({failure.reason}). Its LaunchType is EmptyLaunchCommand, so the "
                                        f"simulation does not start it{advice}")
            abandon.wait(min(RETRY_INTERVAL_S, max(0.0, deadline - time.monotonic())))

    def unreachable(self) -> str | None:
        """Why the engine is known to be gone (its address refuses connections, its host is
        unreachable), or None if it accepts connections or the answer is slow in coming."""
        failure = self._probe(PROBE_TIMEOUT_S)
        return failure.reason if failure is not None and failure.kind != "silent" else None

    def _probe(self, timeout_s: float) -> _ProbeFailure | None:
        """One TCP connection to the address, closed at once; None if it was accepted."""
        try:
            with socket.create_connection((self._host, self._port), timeout=timeout_s):
                return None
        except socket.gaierror as error:
            return _ProbeFailure(f"cannot resolve host {self._host!r}: {error.strerror}", "unresolved")
        except TimeoutError:
            # What a firewall that drops packets looks like, and a host that is down.
            return _ProbeFailure(f"no answer within {timeout_s:.1f} s", "silent")
        except OSError as error:
            return _ProbeFailure(error.strerror or type(error).__name__, "refused")


class InProcess(_NoProcess):
    """Starts no process: the engine's script runs inside NRPCoreSim, on the engine's worker thread.
    There is no process to watch, signal or wait for; the engine client ends the script itself."""


class _ProbeFailure(NamedTuple):
    reason: str
    # "unresolved" (the host name is unknown), "silent" (no answer in time: inconclusive) or
    # "refused" (the connection was refused or the host is unreachable: nobody serves there).
    kind: str


LAUNCHERS = {"BasicFork": BasicFork, "EmptyLaunchCommand": EmptyLaunchCommand, IN_PROCESS: InProcess}


def make_launcher(engine_config: dict) -> Launcher:
    name = engine_config["EngineName"]
    launch_type = engine_config.get("EngineLaunchCommand", {}).get("LaunchType", "BasicFork")
    if launch_type not in LAUNCHERS:
        raise EngineLaunchError(name, f"LaunchType '{launch_type}' is not supported here "
                                      f"(supported: {', '.join(sorted(LAUNCHERS))})")
    if launch_type == EMPTY_LAUNCH_COMMAND:
        if "ServerAddress" not in engine_config:
            raise ConfigError(f"engine {name!r} has LaunchType {EMPTY_LAUNCH_COMMAND} but no ServerAddress",
                              path="ServerAddress")
        return EmptyLaunchCommand(name, engine_config["ServerAddress"])
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
