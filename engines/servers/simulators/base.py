"""What every py_sim simulator shares: the interface the SimulatorManager drives, its errors, and
how a WorldFileName is found.

The interface is nrp-core 1.4's (`nrp_pysim_engines/.../MujocoLib.py`, `BulletLib.py`,
`OpenAIGymLib.py`): a simulator is built from (world file, visualizer flag, engine timestep in
seconds, extra params) and offers `run_one_step`, `reset`, `shutdown`, the three
`get_model_*` queries and `get_sim_time` (seconds).
"""

from __future__ import annotations

import abc
import os
from typing import Any


class SimulatorError(Exception):
    """A py_sim simulator could not be built or driven; the message names the file, key or value."""


class SimulatorUnavailable(SimulatorError):
    """The configured `Simulator` cannot run in this installation (unknown, or not installable)."""


class WorldFileError(SimulatorError):
    """The `WorldFileName` is missing or its content is invalid; names the file."""

    def __init__(self, world_file: str, reason: str):
        self.world_file = world_file
        super().__init__(f'WorldFileName "{world_file}": {reason}')


class PropertyError(SimulatorError, ValueError):
    """A property type or name the simulator does not have.

    A ValueError too: nrp-core's simulators raise ValueError here, and scripts may catch it.
    """


class ActionError(SimulatorError, ValueError):
    """An action `run_step` cannot apply (wrong shape, unknown key, unknown control mode)."""


class Simulator(abc.ABC):
    """One simulator instance behind a SimulatorManager (nrp-core's `<Name>Interface`)."""

    @abc.abstractmethod
    def run_one_step(self, action: Any, timestep_ns: int) -> Any:
        """Apply `action` and advance the simulation by `timestep_ns`."""

    @abc.abstractmethod
    def reset(self) -> Any:
        """Put the simulation back to its initial state and time 0."""

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Release the simulator; calling it again does nothing."""

    @abc.abstractmethod
    def get_model_properties(self, p_type: str) -> Any:
        """The names of the model's elements of type `p_type`."""

    @abc.abstractmethod
    def get_model_property(self, p_name: str, p_type: str) -> Any:
        """The value of `p_type` for the element named `p_name`."""

    @abc.abstractmethod
    def get_model_all_properties(self, p_type: str) -> Any:
        """The values of `p_type` for every element of the model."""

    @abc.abstractmethod
    def get_sim_time(self) -> float:
        """Simulated time since the start or the last reset, in seconds."""


def resolve_world_file(world_file: Any, base_dir: str | os.PathLike | None = None,
                       fallback_dirs: tuple[str, ...] = ()) -> str:
    """The absolute path of `world_file`, which is relative to `base_dir` (the experiment directory,
    which is the engine's working directory) or, failing that, to one of `fallback_dirs`.

    Raises WorldFileError naming the file and every place it was looked for.
    """
    if not isinstance(world_file, str) or not world_file.strip():
        raise WorldFileError(str(world_file), "must be a non-empty file name")
    base = os.path.abspath(base_dir if base_dir is not None else os.getcwd())
    candidates = [os.path.join(base, world_file)] + [os.path.join(d, world_file) for d in fallback_dirs]
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise WorldFileError(world_file, "file not found (looked for " + ", ".join(candidates) + ")")


def steps_in(timestep_ns: int, basic_timestep_s: float, simulator: str) -> int:
    """How many of the simulator's own steps make one engine step of `timestep_ns`.

    Rounded rather than truncated: 0.006 s / 0.002 s is 2.9999999999999996 in floating point.
    """
    if not isinstance(timestep_ns, int) or isinstance(timestep_ns, bool) or timestep_ns < 0:
        raise ActionError(f"timestep_ns must be a non-negative integer of nanoseconds, got {timestep_ns!r}")
    steps = round(timestep_ns / 1e9 / basic_timestep_s)
    if steps == 0 and timestep_ns > 0:
        raise SimulatorError(f"a step of {timestep_ns / 1e9:g} s is shorter than {simulator}'s own timestep "
                             f"of {basic_timestep_s:g} s")
    return steps


def as_plain(value: Any) -> Any:
    """numpy arrays and scalars (in lists, tuples and dicts) as plain Python values, for JSON."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, dict):
        return {key: as_plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_plain(item) for item in value]
    return value
