"""NRP's runtime_error payload: what the kernel publishes when the main script or the simulation
under it fails. Pure data, below both the exceptions (`errors`) and the mapping of exceptions to
reports (`error_reports`)."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass

UNKNOWN = -1


class ErrorType(str, enum.Enum):
    COMPILE = "Compile"
    """The script does not compile, or uses a name or attribute that does not exist."""
    LOADING = "Loading"
    """The simulation could not be set up (config, NRPCoreSim, engines) or the script not read."""
    RUNTIME = "Runtime"
    """The script raised, or the simulation broke under it."""
    SIM_TIMEOUT = "SimTimeout"
    """The script let NRPSimulationTimeout escape."""


@dataclass(frozen=True, kw_only=True)
class RuntimeErrorReport:
    """One runtime_error event; the field names are NRP's wire names."""

    msg: str
    error_type: ErrorType
    fileName: str  # noqa: N815 (NRP's payload key)
    line_number: int = UNKNOWN
    offset: int = UNKNOWN
    line_text: str = ""

    def event_fields(self) -> dict:
        fields = asdict(self)
        fields["error_type"] = self.error_type.value
        return fields
