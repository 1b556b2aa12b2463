"""`SimulatorManager`: nrp-core 1.4's front of a py_sim engine's simulator, built from the engine's
config and reached by engine scripts as `self.sim_manager`.

| `Simulator` | module | `WorldFileName` |
|---|---|---|
| `Mujoco` | `mujoco_simulator` | an MJCF file |
| `Bullet` | `bullet_simulator` | a URDF, SDF or MJCF file (also looked up in pybullet_data) |
| `OpenAI` | `gym_simulator` | a Gymnasium environment id, e.g. `CartPole-v1` |
| `Opensim` | — | refused: OpenSim's Python package is not installable here |

Paths are relative to the experiment directory, which is the engine's working directory. The
engine is always headless: `Visualizer: true` (which nrp-core's examples set) is accepted with a
warning. `EngineExtraConfigs` reaches the simulator as its extra parameters.
"""

from __future__ import annotations

import importlib
import logging
import os
from typing import Any

from engines.servers.simulators.base import Simulator, SimulatorError, SimulatorUnavailable

log = logging.getLogger(__name__)

# Simulator name -> (module, class); imported on demand, so that each simulator's library loads
# only in the engines that use it.
SIMULATORS = {
    "Mujoco": ("engines.servers.simulators.mujoco_simulator", "MujocoSimulator"),
    "Bullet": ("engines.servers.simulators.bullet_simulator", "BulletSimulator"),
    "OpenAI": ("engines.servers.simulators.gym_simulator", "GymSimulator"),
}
UNAVAILABLE = {
    "Opensim": "OpenSim's Python package (opensim) is distributed only through conda and cannot be installed "
               "in this environment",
}
DEFAULT_TIMESTEP_S = 0.01  # EngineBase's EngineTimestep default


class SimulatorManager:
    """Builds the configured simulator and forwards nrp-core's calls to it."""

    def __init__(self, configuration: dict, *, base_dir: str | os.PathLike | None = None):
        if not isinstance(configuration, dict):
            raise SimulatorError(f"a SimulatorManager needs the engine config object, got {configuration!r}")
        simulator_type = configuration.get("Simulator")
        if simulator_type in UNAVAILABLE:
            raise SimulatorUnavailable(f'Simulator "{simulator_type}" is not available: '
                                       f'{UNAVAILABLE[simulator_type]}; use one of {sorted(SIMULATORS)}')
        if simulator_type not in SIMULATORS:
            raise SimulatorUnavailable(f"Simulator {simulator_type!r} is unknown; use one of {sorted(SIMULATORS)}")
        if "WorldFileName" not in configuration:
            raise SimulatorError(f'the engine config has no WorldFileName (required with Simulator "{simulator_type}")')
        world_file = configuration["WorldFileName"]
        if configuration.get("Visualizer"):
            log.warning("Visualizer is true, but py_sim engines run headless here: no window is opened")
        self.simulator_type = simulator_type
        self.time_step = float(configuration.get("EngineTimestep", DEFAULT_TIMESTEP_S))
        extra_params = configuration.get("EngineExtraConfigs") or {}
        module_name, class_name = SIMULATORS[simulator_type]
        simulator_class = getattr(importlib.import_module(module_name), class_name)
        # nrp-core's attribute name: scripts reach the simulator itself (its model, client id) through it.
        self.sim_interface: Simulator = simulator_class(world_file, False, self.time_step, extra_params,
                                                        base_dir=base_dir)

    def reset(self) -> Any:
        """Put the simulation back to its initial state and time 0."""
        return self.sim_interface.reset()

    def shutdown(self) -> None:
        """Release the simulator; calling it again does nothing."""
        self.sim_interface.shutdown()

    def run_step(self, action: Any, timestep_ns: int) -> Any:
        """Apply `action` and advance by `timestep_ns` (int ns).

        Returns what the simulator's step returns: the done flag for OpenAI, None otherwise
        (nrp-core drops it; returning it costs nothing and its gym example reads it).
        """
        return self.sim_interface.run_one_step(action, timestep_ns)

    def get_model_properties(self, datapack_type: str) -> Any:
        """The names of the model's elements of one type."""
        return self.sim_interface.get_model_properties(datapack_type)

    def get_model_all_properties(self, datapack_type: str) -> Any:
        """The values of one property type for every element."""
        return self.sim_interface.get_model_all_properties(datapack_type)

    def get_model_property(self, datapack_name: str, datapack_type: str) -> Any:
        """The value of one property type for the element named `datapack_name`."""
        return self.sim_interface.get_model_property(datapack_name, datapack_type)

    def get_sim_time(self) -> float:
        """Simulated time since the start or the last reset, in seconds."""
        return self.sim_interface.get_sim_time()
