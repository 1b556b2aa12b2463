"""`InProcessEngineClient`: an engine whose script runs in NRPCoreSim's process, with no RPC.

The client makes, on the engine's own worker thread, the calls the engine's server would make on
its ScriptHost for each request, with the same checks, the same conversions of datapacks
(json_engines, grpc_engine) and the same failure message, which names the engine, the script's
file and line; only the transport is gone. What stays the RPC path's: each engine steps on its
worker concurrently with the others and with the loop (engine_client), EngineCommandTimeout bounds
every call (calls), and what the script prints goes to the engine output (script_output).

What differs because there is no process: a script that never returns from a call can only be
abandoned (never killed), and one that ends the process (os._exit) ends NRPCoreSim.
"""

from __future__ import annotations

import logging
import os
from typing import NamedTuple

from engines.errors import EngineError, EngineLaunchError
from engines.nrpcoresim.config.in_process import IN_PROCESS
from engines.nrpcoresim.engine_client import EngineClient
from engines.nrpcoresim.in_process import script_output
from engines.nrpcoresim.in_process.calls import DirectCalls, ScriptCallTimeout, TimedCalls
from engines.nrpcoresim.in_process.json_values import json_copy
from engines.nrpcoresim.in_process.tasks import EngineTask, EngineTasks
from engines.servers.script.script_base import ScriptBase
from engines.servers.script.script_host import ScriptHost

log = logging.getLogger(__name__)


class Actions(NamedTuple):
    """What failure messages call each request: the engine server's names for it."""

    initialize: str
    run_loop: str
    set_datapacks: str
    get_datapacks: str
    reset: str
    shutdown: str
    step: str


class InProcessEngineClient(EngineClient):
    """An engine whose ScriptHost lives in this process; subclasses add the datapack conversions
    of their protocol."""

    protocol = "in-process"
    actions: Actions

    def __init__(self, config, launcher, registration):
        super().__init__(config, launcher, registration)
        self._host = ScriptHost(self.name, self.script_base())
        self._calls: DirectCalls | TimedCalls = DirectCalls()
        self._routes_output = False
        self._output = None
        self._tasks = EngineTasks(self.name)

    def script_base(self) -> type[ScriptBase]:
        """The class the engine's `Script` must derive from, as its engine server requires."""
        raise NotImplementedError

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, output, cwd=None) -> None:
        # The script sees this process's working directory, where a launched engine sees `cwd`:
        # its relative paths (PythonFileName, a world file) resolve only if the two are one.
        if cwd is not None and os.path.realpath(cwd) != os.path.realpath(os.getcwd()):
            raise EngineLaunchError(self.name, f"runs inside NRPCoreSim (LaunchType {IN_PROCESS}), whose working "
                                               f"directory {os.getcwd()} is not the experiment's ({cwd}), so the "
                                               f"script's relative paths would not resolve; start NRPCoreSim in "
                                               f"the experiment's directory (-d)")
        if output is not None:
            script_output.install()
            self._routes_output = True
        self._output = output
        self._calls = (TimedCalls(self.name, self.command_timeout_s, output) if self.command_timeout_s is not None
                       else DirectCalls(output))

    @property
    def started_elsewhere(self) -> bool:
        return False

    def await_ready(self) -> None:
        self._connected = True

    def connect(self, timeout_s: float) -> None:
        pass

    def _registers(self, command: list[str]) -> bool:
        return False

    def _launch_arguments(self) -> list[str]:
        return []

    def crashed(self, wait_s: float = 0.0):
        return None  # no process to die: a failure is an exception from the script, reported as such

    def initialize(self) -> None:
        # The script gets its own copy of the config, as a launched engine gets one over the wire.
        self._call(self.actions.initialize, self._host.initialize, json_copy(self.initialize_config()))
        self.combined_step = True

    def reset(self) -> None:
        self._call(self.actions.reset, self._host.reset)

    def shutdown(self) -> None:
        self._call(self.actions.shutdown, self._host.shutdown)

    def close(self) -> None:
        pass

    def stop_process(self, grace_s: float) -> None:
        # What a launched engine does when it is stopped without a shutdown request: shut the script
        # down, unless a call still runs after `grace_s`, in which case the script is abandoned.
        previous = script_output.route(self._output)
        try:
            self._close_script(grace_s)
        finally:
            script_output.restore(previous)
        self._calls.close()
        self._tasks.close()
        if self._routes_output:
            self._routes_output = False
            script_output.uninstall()

    def _close_script(self, grace_s: float) -> bool:
        """Shuts the script down if it is still up; False if a call kept it busy past `grace_s`."""
        return self._host.close(grace_s)

    # -- data and steps ------------------------------------------------------------------------

    def submit(self, function, *args) -> EngineTask:
        """As EngineClient.submit, but the thread that waits for the task runs it if the worker has
        not started it yet (tasks.py): a thread hand-off costs more than an in-process step."""
        return self._tasks.submit(self._guarded, function, *args)

    def run_loop_step(self, time_step_ns: int) -> int:
        return self._call(self.actions.run_loop, self._host.run_loop, checked_time_step(time_step_ns))

    def _call(self, action: str, function, *args):
        """`function(*args)` on the script, within the command timeout. A failure is reported as the
        engine's server reports it to its client, inside the client's own words."""
        try:
            return self._calls.call(function, *args)
        except ScriptCallTimeout:
            raise self.timeout_error() from None
        except (Exception, SystemExit) as error:
            message = self._host.describe_failure(action, error)
            log.error("%s", message, exc_info=error)
            raise EngineError(self.name, f"{action} failed: {message}") from error


def checked_time_step(time_step_ns) -> int:
    """The step as the engine servers take it: a non-negative integer of nanoseconds."""
    time_step_ns = int(time_step_ns)
    if time_step_ns < 0:
        raise ValueError(f"time_step must be a non-negative integer of nanoseconds, got {time_step_ns!r}")
    return time_step_ns
