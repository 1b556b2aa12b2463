"""MuJoCo behind py_sim (`"Simulator": "Mujoco"`), with nrp-core 1.4's MujocoInterface semantics on
the `mujoco` bindings (nrp-core used the retired `mujoco_py`).

`WorldFileName` is an MJCF file. The property vocabulary is mujoco_py's, which nrp-core's example
scripts use:

| call | returns |
|---|---|
| `get_model_properties("site")` | the names of the model's sites, in id order (also body, joint, geom, camera, light, actuator, sensor, tendon, mesh, material, texture, equality, key) |
| `get_model_property(name, "site_xpos")` | `<object>_<field>`: the field of that named object, from mjData (`body_xpos`, `body_xquat`, `joint_qpos`, `joint_qvel`, `geom_xmat`, `actuator_force`, ...), else from mjModel (`body_mass`, `joint_range`, ...), as a numpy array |
| `get_model_property(name, "body_xvelp")` | mujoco_py's linear (`xvelp`) or angular (`xvelr`) world velocity of a body, geom or site |
| `get_model_property(name, "sensor")` | the sensor's data |
| `get_model_property(name, "camera_image")` | an RGB image (height x width x 3, uint8) from that camera, at the model's offscreen size (`<visual><global offwidth offheight>`, default 640x480); `""` is the free camera |
| `get_model_all_properties("qpos")` | a copy of any mjData array (`qpos`, `qvel`, `xpos`, `sensordata`, `ctrl`, ...) |

`run_one_step(action, timestep_ns)` writes `action` (one value per actuator, or one value for all;
None keeps the previous controls) to `ctrl`, then makes round(timestep / opt.timestep) MuJoCo steps
and one `mj_forward`, so that every property (body poses, sensors, camera images) is that of the
current time (with `mj_step` alone they lag one MuJoCo step behind `qpos`, as in mujoco_py).
The engine is headless: rendering uses EGL (`MUJOCO_GL=egl`, set if unset before mujoco is imported).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from engines.servers.simulators.base import (ActionError, PropertyError, Simulator, SimulatorError,
                                             WorldFileError, resolve_world_file, steps_in)

log = logging.getLogger(__name__)

# Object type -> (mjtObj member, mjModel count attribute).
_OBJECTS = {
    "body": ("mjOBJ_BODY", "nbody"), "joint": ("mjOBJ_JOINT", "njnt"), "geom": ("mjOBJ_GEOM", "ngeom"),
    "site": ("mjOBJ_SITE", "nsite"), "camera": ("mjOBJ_CAMERA", "ncam"), "light": ("mjOBJ_LIGHT", "nlight"),
    "actuator": ("mjOBJ_ACTUATOR", "nu"), "sensor": ("mjOBJ_SENSOR", "nsensor"),
    "tendon": ("mjOBJ_TENDON", "ntendon"), "mesh": ("mjOBJ_MESH", "nmesh"), "material": ("mjOBJ_MATERIAL", "nmat"),
    "texture": ("mjOBJ_TEXTURE", "ntex"), "equality": ("mjOBJ_EQUALITY", "neq"), "key": ("mjOBJ_KEY", "nkey"),
}
# Objects with named views on mjData / mjModel (data.site("tip").xpos), by mujoco_py's prefix.
_VIEWS = {"body": "body", "joint": "joint", "geom": "geom", "site": "site", "camera": "camera",
          "light": "light", "actuator": "actuator", "sensor": "sensor", "tendon": "tendon"}
# mujoco_py's world-frame velocities, computed with mj_objectVelocity: (object, rows of its result).
_VELOCITY_FIELDS = {"xvelp": slice(3, 6), "xvelr": slice(0, 3)}
_VELOCITY_OBJECTS = {"body": "mjOBJ_BODY", "geom": "mjOBJ_GEOM", "site": "mjOBJ_SITE"}


def import_mujoco():
    """The mujoco module, imported headless: EGL unless MUJOCO_GL says otherwise.

    mujoco picks its OpenGL platform once, when it is imported; there is no display here, and
    without MUJOCO_GL=egl every offscreen render fails.
    """
    if "mujoco" not in sys.modules:
        os.environ.setdefault("MUJOCO_GL", "egl")
    import mujoco

    return mujoco


class MujocoSimulator(Simulator):
    """One MJCF model and its data, stepped headless."""

    def __init__(self, world_file: str, start_visualizer: bool, time_step: float, extra_params: dict | None = None,
                 *, base_dir: str | None = None):
        self._mujoco = mujoco = import_mujoco()
        self.world_file = world_file
        path = resolve_world_file(world_file, base_dir)
        try:
            self.model = mujoco.MjModel.from_xml_path(path)
        except ValueError as err:  # the mujoco compiler's message: what is wrong, on which line
            raise WorldFileError(world_file, f"not a valid MJCF model: {err}") from err
        self.data = mujoco.MjData(self.model)
        # Positions and sensors are valid before the first step, not zeros.
        mujoco.mj_forward(self.model, self.data)
        self.basic_timestep = float(self.model.opt.timestep)
        steps = round(time_step / self.basic_timestep)
        if steps == 0:
            raise SimulatorError(f"EngineTimestep {time_step} s is shorter than the timestep "
                                 f"{self.basic_timestep} s of {world_file}")
        if abs(steps * self.basic_timestep - time_step) > 1e-9:
            log.warning("EngineTimestep %s s is not a multiple of the timestep %s s of %s; each step makes %d "
                        "MuJoCo steps (%s s)", time_step, self.basic_timestep, world_file, steps,
                        steps * self.basic_timestep)
        self._renderers: dict[tuple[int, int], Any] = {}
        self._closed = False

    def run_one_step(self, action: Any, timestep_ns: int) -> None:
        if action is not None:
            self._set_controls(action)
        steps = steps_in(timestep_ns, self.basic_timestep, "MuJoCo")
        if steps:
            self._mujoco.mj_step(self.model, self.data, nstep=steps)
            # mj_step leaves positions, velocities of bodies and sensors as they were at the start of
            # its last step; one forward pass makes every property describe the state at get_sim_time().
            self._mujoco.mj_forward(self.model, self.data)

    def _set_controls(self, action: Any) -> None:
        import numpy as np

        try:
            values = np.asarray(action, dtype=float).reshape(-1)
        except (TypeError, ValueError) as err:
            raise ActionError(f"a MuJoCo action is a list of numbers, one per actuator; got {action!r}") from err
        if values.size not in (1, self.model.nu):
            names = self.get_model_properties("actuator")
            raise ActionError(f"the action has {values.size} values but {self.world_file} has {self.model.nu} "
                              f"actuators {names}")
        self.data.ctrl[:] = values

    def reset(self) -> int:
        self._mujoco.mj_resetData(self.model, self.data)
        self._mujoco.mj_forward(self.model, self.data)
        return 0

    def shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        for renderer in self._renderers.values():
            renderer.close()
        self._renderers.clear()

    def get_model_properties(self, p_type: str) -> list[str]:
        if p_type not in _OBJECTS:
            raise PropertyError(f"Property type {p_type!r} is not supported; MuJoCo's are {sorted(_OBJECTS)}")
        obj_type, count = _OBJECTS[p_type]
        kind = getattr(self._mujoco.mjtObj, obj_type)
        return [self._mujoco.mj_id2name(self.model, kind, i) or "" for i in range(getattr(self.model, count))]

    def get_model_property(self, p_name: str, p_type: str) -> Any:
        if p_type == "sensor":
            return self._view("sensor", p_name, self.data).data.copy()
        if p_type == "camera_image":
            return self.render(p_name)
        obj, _, field = p_type.partition("_")
        if obj not in _VIEWS or not field:
            raise PropertyError(f"Property type {p_type!r} is not supported; use <object>_<field> with an object "
                                f"among {sorted(_VIEWS)} (e.g. site_xpos, joint_qpos), 'sensor' or 'camera_image'")
        if field in _VELOCITY_FIELDS and obj in _VELOCITY_OBJECTS:
            return self._velocity(obj, p_name, _VELOCITY_FIELDS[field])
        for source in (self.data, self.model):
            view = self._view(obj, p_name, source)
            if hasattr(view, field):
                value = getattr(view, field)
                return value.copy() if hasattr(value, "copy") else value
        raise PropertyError(f"Property type {p_type!r}: a MuJoCo {obj} has no field {field!r}")

    def get_model_all_properties(self, p_type: str) -> Any:
        value = getattr(self.data, p_type, None) if not p_type.startswith("_") else None
        if value is None or callable(value):
            raise PropertyError(f"Property type {p_type!r} is not an mjData array (e.g. qpos, qvel, xpos, "
                                f"sensordata, ctrl)")
        return value.copy() if hasattr(value, "copy") else value

    def get_sim_time(self) -> float:
        return float(self.data.time)

    def render(self, camera: str | None = None, width: int | None = None, height: int | None = None):
        """An RGB image (height x width x 3, uint8) of the current state from the named camera
        (None or "" for the free camera), at most the model's offscreen framebuffer size."""
        width = width or int(self.model.vis.global_.offwidth)
        height = height or int(self.model.vis.global_.offheight)
        if camera:
            self._view("camera", camera, self.data)  # a clear error for an unknown camera
        renderer = self._renderers.get((width, height))
        if renderer is None:
            try:
                renderer = self._mujoco.Renderer(self.model, height=height, width=width)
            except Exception as err:
                raise SimulatorError(f"MuJoCo cannot render offscreen ({type(err).__name__}: {err}); the engine "
                                     f"needs MUJOCO_GL=egl (now {os.environ.get('MUJOCO_GL')!r}) and libEGL") from err
            self._renderers[(width, height)] = renderer
        renderer.update_scene(self.data, camera=camera if camera else -1)
        return renderer.render()

    def _view(self, obj: str, name: str, source: Any) -> Any:
        try:
            return getattr(source, _VIEWS[obj])(name)
        except KeyError as err:
            raise PropertyError(f'{self.world_file} has no {obj} named {name!r}; its {obj}s are '
                                f'{self.get_model_properties(obj)}') from err

    def _velocity(self, obj: str, name: str, rows: slice):
        import numpy as np

        object_id = self._view(obj, name, self.data).id
        result = np.zeros(6)
        kind = getattr(self._mujoco.mjtObj, _VELOCITY_OBJECTS[obj])
        self._mujoco.mj_objectVelocity(self.model, self.data, kind, object_id, result, 0)
        return result[rows].copy()
