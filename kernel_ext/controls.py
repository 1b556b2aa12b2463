"""Steering, reads, step and reset: the simulation server's commands beyond NRP's lifecycle.

`Controls` is a part of `SimulationServer` (a mixin: the same owner thread, the same state). Its
commands are answered at once, as the others are; what becomes of them comes back as events:

    steer(json)          Steered      when NRPCoreSim sent the datapack to its engine, or refused it
    read_datapack(json)  DataPackRead the engine's latest value (NrpReadThread waits for it)
    step(json)           Stepped      once exactly n steps have run (the script's thread tells)
    reset()              ResetDone    once NRPCoreSim is back at time 0 (NrpResetThread)

Steering goes to NRPCoreSim's steering service (our extension, engines.nrpcore_steering) on the
channel of the simulation's NrpCore; its outcomes arrive on a stream that one thread follows.
"""

from __future__ import annotations

import functools
import logging

from engines.nrpcore_client import RequestFailed
from engines.nrpcore_steering import SteeringClient, SteeringError, SteeringOutcome

from .error_reports import ErrorType, RuntimeErrorReport
from .errors import IllegalCommand, InvalidSteeringValue, SteeringRefused, UnknownSteeringTarget
from .lifecycle import Command, check_command
from .protocol import DataPackRead, Failed, ReadRequest, ResetDone, Steered, SteerRequest, StepRequest, Stepped

log = logging.getLogger(__name__)

#: How long a reset waits for a run_loop still in flight (a pause lets the current one end first).
RESET_IDLE_S = 30.0


class Controls:
    """Mixin of SimulationServer; uses its owner, state, NrpCore wrapper and event helpers."""

    _resetting = False
    _steering: SteeringClient | None = None

    # -- commands (the kernel's main thread) -----------------------------------------------------

    def steer(self, text: str) -> None:
        """Queue a datapack for an engine's next step (a `protocol.SteerRequest` as JSON)."""
        handler = functools.partial(self._on_steer, SteerRequest.from_json(text))
        self._owner.ask(handler, if_ended=handler)

    def read_datapack(self, text: str) -> None:
        """Read an engine's latest datapack (a `protocol.ReadRequest` as JSON)."""
        handler = functools.partial(self._on_read, ReadRequest.from_json(text))
        self._owner.ask(handler, if_ended=handler)

    def step(self, text: str) -> None:
        """Let exactly n steps through a paused simulation (a `protocol.StepRequest` as JSON)."""
        handler = functools.partial(self._on_step, StepRequest.from_json(text))
        self._owner.ask(handler, if_ended=handler)

    def reset(self) -> None:
        """Back to time 0 with every engine reset; the simulation stays paused."""
        self._owner.ask(self._on_reset, if_ended=self._on_reset)

    # -- the owner's handlers --------------------------------------------------------------------

    def _check(self, command: Command) -> None:
        if self._stopping:
            raise IllegalCommand(command.value, self._state.value, "the simulation is being stopped")
        check_command(command, self._state)
        if self._resetting:
            raise SteeringRefused(f"{command.value}() is not possible while the simulation is being reset")

    def _on_steer(self, request: SteerRequest) -> None:
        self._check(Command.STEER)
        try:
            self._steering_client().steer(request.ticket, request.engine, request.datapack, request.value,
                                          request.type)
        except ValueError as error:  # a value that is no message of its protobuf type
            raise InvalidSteeringValue(str(error)) from None
        except SteeringError as error:
            raise _refusal(error) from None

    def _on_read(self, request: ReadRequest) -> None:
        self._check(Command.READ)
        client = self._steering_client()

        def read() -> None:
            try:
                type_name, value = client.read(request.engine, request.datapack)
                answer = DataPackRead(request.request, request.engine, request.datapack, value, type_name)
            except SteeringError as error:
                answer = DataPackRead(request.request, request.engine, request.datapack, error=str(error),
                                      missing=error.missing)
            self._owner.post(functools.partial(self._emit, answer))

        self._owner.spawn("NrpReadThread", read)

    def _on_step(self, request: StepRequest) -> None:
        self._check(Command.STEP)
        if isinstance(request.steps, bool) or not isinstance(request.steps, int) or request.steps < 1:
            raise InvalidSteeringValue(f"steps: a positive number of loop steps, not {request.steps!r}")
        try:
            self._nrp._step(request.steps, self._stepped_from_script)
        except RuntimeError as error:
            raise SteeringRefused(f"step() is not possible now: {error}") from None
        if not self._script_started:
            # The steps are the script's: it starts, and its run_loop() lets only them through.
            self._script_started = True
            self._script.start(self._nrp, functools.partial(self._on_script_done, self._nrp))

    def _stepped_from_script(self, steps: int) -> None:
        """The script's thread, once the steps have run (or a resume ended the step early)."""
        self._owner.post(functools.partial(self._on_stepped, steps))

    def _on_stepped(self, steps: int) -> None:
        if self._stopping:
            return
        self._emit_status()
        self._emit(Stepped(steps=steps, simulationTime=self._nrp.simulation_time))

    def _on_reset(self) -> None:
        self._check(Command.RESET)
        nrp = self._nrp
        if nrp.stepping:
            raise SteeringRefused("reset() is not possible while a step is in progress")
        self._resetting = True
        self._owner.spawn("NrpResetThread", functools.partial(self._reset_core, nrp))

    def _reset_core(self, nrp) -> None:
        """NrpResetThread: NRPCoreSim's reset once no run_loop is in flight; the outcome to the owner."""
        try:
            if not nrp.wait_idle(RESET_IDLE_S):
                raise TimeoutError(f"a run_loop was still in flight after {RESET_IDLE_S:g} s")
            nrp.core.reset()
        except Exception as error:  # noqa: BLE001 -- every outcome is told
            self._owner.post(functools.partial(self._on_reset_ended, error))
        else:
            self._owner.post(functools.partial(self._on_reset_ended, None))

    def _on_reset_ended(self, error: Exception | None) -> None:
        self._resetting = False
        if self._stopping:
            return
        if error is None:
            self._nrp._reset_time()
            self._emit_status()
            self._emit(ResetDone(ok=True))
            return
        failure = getattr(error, "failure", None)
        engine = getattr(failure, "engine", None)
        message = error.error_msg if isinstance(error, RequestFailed) else str(error)
        log.error("simulation %s: reset failed: %s", self.settings.simulation_id, message)
        self._emit(ResetDone(ok=False, engine=engine, error=message))
        if not isinstance(error, RequestFailed):
            return  # NRPCoreSim was not reset (a run still in flight): the simulation goes on
        # NRPCoreSim is Failed after a failed reset, as nrp-core's is: the simulation cannot go on.
        if self._script_started:
            self._nrp._break(error)  # the script's run_loop raises it; its end reports the failure
            return
        report = RuntimeErrorReport(msg=f"The reset failed: {message}", error_type=ErrorType.RUNTIME,
                                    fileName=self._script.name)
        self._fail(report, Failed(reason=f"the reset failed: {message}", cause="experiment", engine=engine))

    # -- steering outcomes -----------------------------------------------------------------------

    def _steering_client(self) -> SteeringClient:
        if self._steering is None:
            self._steering = SteeringClient(self._core.channel)
            self._steering.watch(self._outcome_from_stream)
        return self._steering

    def _outcome_from_stream(self, outcome: SteeringOutcome) -> None:
        self._owner.post(functools.partial(self._emit, Steered(
            ticket=outcome.ticket, engine=outcome.engine, datapack=outcome.datapack, applied=outcome.applied,
            simulationTime=outcome.time_ns * 1e-9, error=outcome.error, missing=outcome.missing)))


def _refusal(error: SteeringError) -> SteeringRefused:
    if error.missing:
        return UnknownSteeringTarget(str(error))
    if error.invalid:
        return InvalidSteeringValue(str(error))
    return SteeringRefused(str(error))
