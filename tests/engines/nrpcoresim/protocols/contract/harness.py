"""Drives one engine the way NRPCoreSim does: launched by its config's launcher, registered, then
spoken to by the engine client of its protocol (engines.nrpcoresim.protocols.engine_types.make_engine_client)."""

from __future__ import annotations

import os
import pathlib
import signal

from engines.nrpcoresim.config import validate_simulation_config
from engines.nrpcoresim.engine_client import EngineClient
from engines.nrpcoresim.launchers import make_launcher
from engines.nrpcoresim.protocols.engine_types import make_engine_client
from engines.nrpcoresim.protocols.registration import RegistrationServer


class EngineUnderTest:
    """One engine process in `workdir` (its experiment directory), with its client."""

    def __init__(self, engine_config: dict, workdir: pathlib.Path):
        simulation = validate_simulation_config({"SimulationTimeout": 1, "EngineConfigs": [engine_config]})
        self.config = simulation["EngineConfigs"][0]
        self.workdir = workdir
        self.output_path = workdir / "engine.log"
        self._output = open(self.output_path, "wb")
        self.registration = RegistrationServer("localhost:0")
        self.client: EngineClient = make_engine_client(self.config, make_launcher(self.config), self.registration)

    def start(self) -> EngineUnderTest:
        self.client.start(self._output, cwd=self.workdir)
        self.client.await_ready()
        return self

    @property
    def timestep_ns(self) -> int:
        return self.client.timestep_ns

    @property
    def pid(self) -> int | None:
        return self.client.launcher.pid

    def output(self) -> str:
        return self.output_path.read_text(errors="replace")

    def kill(self) -> None:
        os.kill(self.pid, signal.SIGKILL)

    def wait_exit(self, timeout: float = 10.0) -> int | None:
        """The process's exit status once it ends, or None if it still runs after `timeout`."""
        return self.client.launcher.wait(timeout)

    def close(self) -> None:
        """Ends the process whatever state it is in; safe after a shutdown or a crash."""
        self.client.close()
        self.client.stop_process(grace_s=1.0)
        self.registration.close()
        self._output.close()
