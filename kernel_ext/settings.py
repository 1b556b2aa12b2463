"""The simulation an experiment kernel runs, from the variables the server sets (protocol.Env).

Only variables named KERNEL_* reach a kernel on a kernel gateway, so everything a simulation needs
from the server is one of these; the rest (PATH, the interpreter) is the gateway's own.
"""

from __future__ import annotations

import os
import pathlib
import socket
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import SettingsError
from .protocol import Env


@dataclass(frozen=True, kw_only=True)
class ServerSettings:
    simulation_id: str
    simulation_dir: pathlib.Path
    experiment_config: str = "simulation_config.json"
    main_script: str = "main_script.py"
    mqtt_prefix: str = ""
    mqtt_broker: str = ""
    status_interval: float = 1.0

    @property
    def config_path(self) -> pathlib.Path:
        return self.simulation_dir / self.experiment_config

    @property
    def script_path(self) -> pathlib.Path:
        return self.simulation_dir / self.main_script

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ServerSettings:
        env = os.environ if environ is None else environ
        simulation_id = env.get(Env.SIMULATION_ID, "").strip()
        if not simulation_id.isdigit():
            raise SettingsError(f"{Env.SIMULATION_ID} must be the simulation's integer id, "
                                f"got {simulation_id!r}")
        # The directory is sent as well as the cwd: a kernel gateway starts kernels in its own
        # directory, and the kernel moves to this one (SimulationServer.initialize).
        directory = pathlib.Path(env.get(Env.SIMULATION_DIR) or os.getcwd()).resolve()
        if not directory.is_dir():
            raise SettingsError(f"{Env.SIMULATION_DIR}: {directory} is not a directory on "
                                f"{socket.gethostname()}; a kernel on a kernel gateway needs the server's "
                                f"simulations directory on storage both share, at the same path "
                                f"(docs/deployment.md)")
        interval_text = env.get(Env.STATUS_INTERVAL) or "1.0"
        try:
            interval = float(interval_text)
        except ValueError:
            interval = -1.0
        if not interval > 0:
            raise SettingsError(f"{Env.STATUS_INTERVAL} must be a positive number of seconds, "
                                f"got {interval_text!r}")
        return cls(
            simulation_id=simulation_id,
            simulation_dir=directory,
            experiment_config=env.get(Env.EXPERIMENT_CONFIG) or "simulation_config.json",
            main_script=env.get(Env.MAIN_SCRIPT) or "main_script.py",
            mqtt_prefix=env.get(Env.MQTT_PREFIX, ""),
            mqtt_broker=env.get(Env.MQTT_BROKER, ""),
            status_interval=interval,
        )
