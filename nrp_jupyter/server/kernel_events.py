"""What an experiment kernel's events do to its simulation.

A part of `SimulationService` (simulations.py): the kernel runner hands every event of a
simulation's kernel here, and each one moves the record on (initialized, completed, failed), is
republished by the status publisher, or goes to the simulation's controls (controls.py).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, assert_never

from kernel_ext.protocol import (Completed, DataPackRead, Failed, Initialized, KernelEvent, Progress,
                                 ResetDone, RuntimeErrorEvent, Status, Steered, Stepped, Stopped)

from .kernel_runner import KernelDied
from .lifecycle import FINAL_STATES
from .models import Simulation
from .simulation_kernels import Run

log = logging.getLogger(__name__)

# The times of NRP's status payload, kept from the kernel's last status event.
STATUS_TIMES = ("realTime", "simulationTime", "simulationTimeLeft")


class EventHost(Protocol):
    """What KernelEvents uses of the SimulationService it is a part of."""

    publisher: Any
    controls: Any

    def record_of(self, simulation_id: int) -> Simulation | None: ...

    def run_of(self, simulation_id: int) -> Run | None: ...

    def save(self, record: Simulation) -> None: ...

    def fail_later(self, simulation_id: int, reason: str) -> None: ...

    def complete_later(self, simulation_id: int) -> None: ...


class KernelEvents:
    def __init__(self, service: EventHost):
        self._service = service

    def on_event(self, simulation_id: int, event: KernelEvent | KernelDied) -> None:
        service = self._service
        record = service.record_of(simulation_id)
        run = service.run_of(simulation_id)
        if record is None or run is None:
            return
        log.debug("simulation %d: kernel event %s", simulation_id, event)
        publisher, controls = service.publisher, service.controls
        match event:
            case Initialized() | Failed():
                # A failure after the launch comes with a Completed(failed=True) or a KernelDied.
                if not run.initialized.done():
                    run.initialized.set_result(event)
            case Progress():
                publisher.kernel_progress(simulation_id, payload(event))
            case Status():
                record.last_status = {key: getattr(event, key) for key in STATUS_TIMES}
                publisher.status(simulation_id, status_of(record))
            case RuntimeErrorEvent():
                record.runtime_error = payload(event)
                service.save(record)
                publisher.runtime_error(simulation_id, record.runtime_error)
            case Completed(failed=True):
                controls.ended(simulation_id)
                service.fail_later(simulation_id, _reason(record, "the simulation broke"))
            case Completed():
                controls.ended(simulation_id)
                service.complete_later(simulation_id)
            case Stopped():
                run.stopped.set()
                controls.ended(simulation_id)
            case Steered() | DataPackRead() | Stepped() | ResetDone():
                controls.on_event(simulation_id, event)
            case KernelDied():
                controls.ended(simulation_id)
                self._kernel_died(record, run)
            case _:
                assert_never(event)

    def _kernel_died(self, record: Simulation, run: Run) -> None:
        if not run.initialized.done():
            run.initialized.set_result(Failed(reason="the experiment kernel died"))
        if record.state not in FINAL_STATES:
            error = payload(RuntimeErrorEvent(msg="The experiment kernel died unexpectedly",
                                              error_type="Runtime", fileName=record.main_script))
            record.runtime_error = error
            self._service.publisher.runtime_error(record.simulation_id, error)
            self._service.fail_later(record.simulation_id, "the experiment kernel died")


def status_of(record: Simulation) -> dict:
    """NRP's status payload of the simulation: its state and the times of its kernel's last status."""
    status = dict(record.last_status or dict.fromkeys(STATUS_TIMES, 0.0))
    status["state"] = record.state.value
    return status


def payload(event) -> dict:
    """An event's fields as the server publishes them (NRP's payloads carry no "event" key)."""
    fields = event.to_json()
    del fields["event"]
    return fields


def _reason(record: Simulation, default: str) -> str:
    return (record.runtime_error or {}).get("msg") or default
