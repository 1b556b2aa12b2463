"""What a check is and what it answers."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable


class Status(str, enum.Enum):
    PASS = "PASS"
    """The check ran and everything it looks at matched nrp-core's behaviour."""
    FAIL = "FAIL"
    """The check ran and found a difference, or could not finish in its time."""
    SKIP = "SKIP"
    """The check did not run; its reason says why (out of scope, missing dependency, ...)."""


@dataclass(frozen=True)
class Outcome:
    status: Status
    reason: str = ""

    @classmethod
    def passed(cls, note: str = "") -> "Outcome":
        return cls(Status.PASS, note)

    @classmethod
    def failed(cls, reason: str) -> "Outcome":
        return cls(Status.FAIL, reason)

    @classmethod
    def skipped(cls, reason: str) -> "Outcome":
        return cls(Status.SKIP, reason)


@dataclass(frozen=True, kw_only=True)
class Check:
    """One line of the runner's report.

    `run` gets the check's Sandbox (its temporary folder, environment and process control) and
    returns an Outcome; an exception it raises is a FAIL. Checks that share a `resources` entry (a
    fixed port an example's config names, say) never run at the same time. A check with `skip` set
    does not run at all.
    """

    name: str
    run: Callable[..., Outcome] | None = None
    resources: frozenset[str] = field(default_factory=frozenset)
    skip: str | None = None
    timeout_s: float = 120.0


@dataclass(frozen=True)
class Result:
    check: str
    outcome: Outcome
    seconds: float

    def line(self) -> str:
        text = f"{self.outcome.status.value} {self.check} ({self.seconds:.1f}s)"
        if self.outcome.reason:
            text += f": {self.outcome.reason}"
        return text
