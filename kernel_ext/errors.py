"""Exceptions of the experiment-kernel side.

    Exception
     ├── NRPSimulationTimeout     nrp.run_loop() would run past SimulationTimeout (a main-script global)
     ├── NRPStopExecution         stop was requested; nrp.run_loop() raises it to end the main script
     └── KernelExtError
          ├── IllegalCommand      a command the simulation server's current state does not allow
          ├── SteeringRefused     a steering request NRPCoreSim cannot take now
          │    ├── UnknownSteeringTarget   no such engine (or datapack)
          │    └── InvalidSteeringValue    a value or type the engine cannot take
          ├── SettingsError       a KERNEL_NRP_* variable is missing or malformed
          └── ScriptLoadError     the main script cannot be read or compiled (carries the report)
    ConnectionError
     └── NRPCoreSimExited         NRPCoreSim died under a paused script

NRPSimulationTimeout and NRPStopExecution derive from Exception directly, as in NRP, so that a main
script written for NRP catches them the same way.
"""

from __future__ import annotations

from .runtime_error import RuntimeErrorReport


class NRPSimulationTimeout(Exception):
    """The requested iterations would exceed the experiment's SimulationTimeout; no step was run."""


class NRPStopExecution(Exception):
    """The simulation is being stopped; the main script should end (it need not catch this)."""


class KernelExtError(Exception):
    """Base of the errors kernel_ext raises to its callers."""


class IllegalCommand(KernelExtError):
    """A lifecycle command that is not allowed in the simulation server's current state."""

    def __init__(self, command: str, state: str, reason: str = "") -> None:
        self.command = command
        self.state = state
        detail = f": {reason}" if reason else ""
        super().__init__(f"{command}() is not allowed in state '{state}'{detail}")


class SteeringRefused(KernelExtError):
    """A steering, read, step or reset request that cannot be served now (the server reads the class
    name of the execute reply's error: keep the names)."""


class UnknownSteeringTarget(SteeringRefused):
    """The engine (or datapack) the request names does not exist in the simulation."""


class InvalidSteeringValue(SteeringRefused):
    """A value, or protobuf type, the engine cannot take."""


class SettingsError(KernelExtError):
    """The kernel's KERNEL_NRP_* environment does not describe a simulation."""


class ScriptLoadError(KernelExtError):
    """The main script cannot be read or compiled; `report` is the runtime_error to publish."""

    def __init__(self, report: RuntimeErrorReport) -> None:
        self.report = report
        super().__init__(report.msg)


class NRPCoreSimExited(ConnectionError):
    """NRPCoreSim is gone; raised by nrp.run_loop() in a script that was paused when it died."""
