"""Gymnasium environments behind py_sim (`"Simulator": "OpenAI"`), with nrp-core 1.4's OpenAIInterface
semantics (which used the retired `gym`; Gymnasium is its successor).

`WorldFileName` is the environment id (`CartPole-v1`), passed to `gymnasium.make`. There is one
property type, `"Property"`, with four properties:

| name | value |
|---|---|
| `observation` | the current observation, as a list (numpy arrays converted) |
| `reward` | the reward of the last step (None before the first) |
| `doneFlag` | whether the last step ended the episode: terminated or truncated |
| `trainInfo` | the info dict of the last step |
| `terminated`, `truncated` | Gymnasium's two halves of `doneFlag` (not in nrp-core): the episode failed, or hit its step limit |

`run_one_step(action, timestep_ns)` makes one `env.step(action)` whatever the timestep (an
environment has its own, e.g. CartPole's 0.02 s; a differing EngineTimestep is warned about) and
returns the done flag. As in nrp-core, an episode that ends is reset at once, so `observation` is
then the new episode's first one. Unlike nrp-core, `observation` holds the initial observation
before the first step, rather than None.

`EngineExtraConfigs`: `Seed` (int) seeds the first reset, for reproducible runs.
"""

from __future__ import annotations

import logging
from typing import Any

from engines.servers.simulators.base import (ActionError, PropertyError, Simulator, SimulatorError,
                                             WorldFileError, as_plain)

log = logging.getLogger(__name__)

PROPERTY_TYPE = "Property"
PROPERTY_NAMES = ("observation", "reward", "doneFlag", "trainInfo", "terminated", "truncated")


class GymSimulator(Simulator):
    """One Gymnasium environment, stepped once per engine step."""

    def __init__(self, world_file: str, start_visualizer: bool, time_step: float, extra_params: dict | None = None,
                 *, base_dir: str | None = None):
        import gymnasium

        extra_params = extra_params or {}
        seed = extra_params.get("Seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)):
            raise SimulatorError(f"EngineExtraConfigs.Seed must be an integer, got {seed!r}")
        if not isinstance(world_file, str) or not world_file.strip():
            raise WorldFileError(str(world_file), "must be a Gymnasium environment id, e.g. CartPole-v1")
        try:
            self.env = gymnasium.make(world_file)
        except gymnasium.error.Error as err:
            raise WorldFileError(world_file, f"not a Gymnasium environment id ({type(err).__name__}: {err})") from err
        self.world_file = world_file
        self._warn_about_timestep(time_step)
        observation, _ = self.env.reset(seed=seed)
        self.properties: dict[str, Any] = dict.fromkeys(PROPERTY_NAMES)
        self.properties["observation"] = observation
        self.action = None
        self._time_ns = 0
        self._closed = False

    def _warn_about_timestep(self, time_step: float) -> None:
        env = self.env.unwrapped
        own = getattr(env, "dt", None) or getattr(env, "tau", None)
        if isinstance(own, (int, float)) and abs(own - time_step) > 1e-9:
            log.warning("%s steps %s s of its own time per step; EngineTimestep is %s s, so simulation time and "
                        "the environment's time differ", self.world_file, own, time_step)

    def run_one_step(self, action: Any, timestep_ns: int) -> bool:
        converted = self._convert(action)
        observation, reward, terminated, truncated, info = self.env.step(converted)
        done = bool(terminated or truncated)
        self.action = action
        self._time_ns += timestep_ns
        self.properties.update(observation=observation, reward=as_plain(reward), doneFlag=done,
                               trainInfo=as_plain(info), terminated=bool(terminated), truncated=bool(truncated))
        if done:
            self.properties["observation"], _ = self.env.reset()
        return done

    def _convert(self, action: Any) -> Any:
        """A JSON action (a number, a list) as the action space wants it, or a clear ActionError."""
        import numpy as np
        from gymnasium import spaces

        space = self.env.action_space
        if action is None:
            raise ActionError(f"{self.world_file} needs an action at every step (its action space is {space})")
        try:
            if isinstance(space, spaces.Discrete):
                if isinstance(action, (list, tuple)) and len(action) == 1:
                    action = action[0]
                value = float(action)
                if not value.is_integer():
                    raise ValueError("not an integer")
                converted = int(value)
            else:
                converted = np.asarray(action, dtype=space.dtype).reshape(space.shape)
        except (TypeError, ValueError) as err:
            raise ActionError(f"action {action!r} does not fit the action space {space} of "
                              f"{self.world_file}: {err}") from err
        if not isinstance(space, spaces.Box) and not space.contains(converted):
            raise ActionError(f"action {action!r} is not in the action space {space} of {self.world_file}")
        return converted

    def reset(self) -> Any:
        self.properties["observation"], _ = self.env.reset()
        self._time_ns = 0
        return as_plain(self.properties["observation"])

    def shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            self.env.close()

    def get_model_properties(self, p_type: str) -> list[str]:
        self._check_type(p_type)
        return list(PROPERTY_NAMES)

    def get_model_property(self, p_name: str, p_type: str) -> Any:
        self._check_type(p_type)
        if p_name not in self.properties:
            raise PropertyError(f"{p_name!r} is not a property; they are {list(PROPERTY_NAMES)}")
        return as_plain(self.properties[p_name])

    def get_model_all_properties(self, p_type: str) -> dict:
        self._check_type(p_type)
        return as_plain(self.properties)

    def get_sim_time(self) -> float:
        return self._time_ns / 1e9

    @staticmethod
    def _check_type(p_type: str) -> None:
        if p_type != PROPERTY_TYPE:
            raise PropertyError(f"Wrong Type {p_type!r}. Supported property type is {PROPERTY_TYPE!r}")
