"""PyBullet behind py_sim (`"Simulator": "Bullet"`), with nrp-core 1.4's BulletInterface semantics.

A headless (DIRECT) physics client with gravity -9.8 m/s² on z, the ground plane `plane.urdf` and the
model of `WorldFileName`: a URDF, SDF or MJCF file, relative to the experiment directory or else to
pybullet_data (`"racecar/racecar.urdf"`, `"kuka_iiwa/model.urdf"` work as is). Of a file with several
bodies, the first is the model. One engine step is one Bullet step of the engine's timestep.

Property types, as nrp-core's:

| type | `get_model_properties` | `get_model_property(name, type)` | `get_model_all_properties` |
|---|---|---|---|
| `Joint` | {joint name: index} | `getJointState`: (position, velocity, reaction forces, applied torque) | every joint's state |
| `Link` | {link name: index} | `getLinkState`: (world position, world orientation, ...) | every link's state |
| `Body` | {body name: id} | `getDynamicsInfo` of the body's base | every body's |

An action is a dict of lists, each entry a dict of the pybullet call's arguments (nrp-core's
defaults fill the missing ones):

    {"Joint":  [{"index": 0, "controlMode": "TORQUE_CONTROL", "force": 1.5}],          # setJointMotorControl2
     "Force":  [{"index": -1, "forceObj": [0, 0, 10], "posObj": [0, 0, 0], "flags": "WORLD_FRAME"}],
     "Torque": [{"index": 1, "torqueObj": [0, 0, 1], "flags": "LINK_FRAME"}]}

`index` may also be a joint's name. As in Bullet, a joint starts held by a velocity motor (target
velocity 0), which brakes it until a Joint command changes its control. Differences from nrp-core, on purpose: a joint driven with
TORQUE_CONTROL gets its default velocity motor switched off first (otherwise Bullet's motor cancels
the torque); `flags` may be given by name; `reset()` restores the loaded state instead of emptying
the world; `get_model_property(name, "Body")` takes a body name, as `get_model_properties` lists.

`EngineExtraConfigs`: `UseFixedBase` (bool, default false) fixes the model's base in the world;
`GroundPlane` (bool, default true) loads plane.urdf.
"""

from __future__ import annotations

import os
from typing import Any

from engines.servers.simulators.base import (ActionError, PropertyError, Simulator, WorldFileError,
                                             resolve_world_file)

GRAVITY = (0.0, 0.0, -9.8)
PROPERTY_TYPES = ("Joint", "Link", "Body")
CONTROL_MODES = ("POSITION_CONTROL", "VELOCITY_CONTROL", "TORQUE_CONTROL", "PD_CONTROL")
# nrp-core's defaults of each action entry.
JOINT_DEFAULTS = {"index": 0, "controlMode": "POSITION_CONTROL", "targetPosition": 0, "targetVelocity": 0,
                  "force": 0, "positionGain": 1, "velocityGain": 1, "maxVelocity": 0}
FORCE_DEFAULTS = {"index": 0, "forceObj": [0, 0, 0], "posObj": [0, 0, 0], "flags": "LINK_FRAME"}
TORQUE_DEFAULTS = {"index": 0, "torqueObj": [0, 0, 0], "flags": "LINK_FRAME"}


class BulletSimulator(Simulator):
    """One PyBullet physics client holding the ground plane and one model."""

    def __init__(self, world_file: str, start_visualizer: bool, time_step: float, extra_params: dict | None = None,
                 *, base_dir: str | None = None):
        import pybullet
        import pybullet_data

        self._p = pybullet
        extra_params = extra_params or {}
        self.world_file = world_file
        data_path = pybullet_data.getDataPath()
        path = resolve_world_file(world_file, base_dir, fallback_dirs=(data_path,))
        self.physics_client = pybullet.connect(pybullet.DIRECT)
        self._closed = False
        try:
            self._call(pybullet.setTimeStep, time_step)
            self._call(pybullet.setGravity, *GRAVITY)
            self._call(pybullet.setAdditionalSearchPath, data_path)
            if extra_params.get("GroundPlane", True):
                self._call(pybullet.loadURDF, os.path.join(data_path, "plane.urdf"))
            self.model = self._load(path, bool(extra_params.get("UseFixedBase", False)))
            self._index_model()
            self._initial_state = self._call(pybullet.saveState)
        except BaseException:
            self.shutdown()
            raise
        self._time_step_s = time_step
        self._torque_joints: set[int] = set()
        self._time_ns = 0

    def _call(self, function, *args, **kwargs):
        return function(*args, physicsClientId=self.physics_client, **kwargs)

    def _load(self, path: str, fixed_base: bool) -> int:
        p = self._p
        extension = os.path.splitext(path)[1].lower()
        try:
            if extension == ".urdf":
                return self._call(p.loadURDF, path, useFixedBase=fixed_base)
            if extension == ".sdf":
                bodies = self._call(p.loadSDF, path)
            elif extension in (".xml", ".mjcf"):
                bodies = self._call(p.loadMJCF, path)
            else:
                raise WorldFileError(self.world_file, "Bullet loads .urdf, .sdf and .xml/.mjcf (MJCF) files")
        except p.error as err:
            raise WorldFileError(self.world_file, f"pybullet cannot load it ({err}); see its log above") from err
        if not bodies:
            raise WorldFileError(self.world_file, "it holds no body")
        return bodies[0]

    def _index_model(self) -> None:
        p = self._p
        self.joint_num = self._call(p.getNumJoints, self.model)
        self.joint_name_to_id: dict[str, int] = {}
        self.link_name_to_id: dict[str, int] = {}
        for i in range(self.joint_num):
            info = self._call(p.getJointInfo, self.model, i)
            self.joint_name_to_id[info[1].decode("utf-8")] = i
            self.link_name_to_id[info[12].decode("utf-8")] = i
        self.body_name_to_id: dict[str, int] = {}
        for i in range(self._call(p.getNumBodies)):
            body = self._call(p.getBodyUniqueId, i)
            self.body_name_to_id[self._call(p.getBodyInfo, body)[1].decode("utf-8")] = body

    def run_one_step(self, action: Any, timestep_ns: int) -> None:
        if not isinstance(timestep_ns, int) or isinstance(timestep_ns, bool) or timestep_ns < 0:
            raise ActionError(f"timestep_ns must be a non-negative integer of nanoseconds, got {timestep_ns!r}")
        if action is not None:
            self._apply(action)
        if timestep_ns == 0:
            return
        timestep_s = timestep_ns / 1e9
        if timestep_s != self._time_step_s:
            self._call(self._p.setTimeStep, timestep_s)
            self._time_step_s = timestep_s
        self._call(self._p.stepSimulation)
        self._time_ns += timestep_ns

    def _apply(self, action: Any) -> None:
        if not isinstance(action, dict) or not set(action) <= {"Joint", "Force", "Torque"}:
            raise ActionError('a Bullet action is a dict with lists under "Joint", "Force" and/or "Torque", '
                              f"got {action!r}")
        entries = {kind: self._entries(kind, action.get(kind, []), defaults)
                   for kind, defaults in (("Joint", JOINT_DEFAULTS), ("Force", FORCE_DEFAULTS),
                                          ("Torque", TORQUE_DEFAULTS))}
        p = self._p
        for joint in entries["Joint"]:
            mode = joint["controlMode"]
            if mode not in CONTROL_MODES:
                raise ActionError(f"Joint controlMode {mode!r} is not one of {list(CONTROL_MODES)}")
            if mode == "TORQUE_CONTROL" and joint["index"] not in self._torque_joints:
                # Bullet's joints come with a velocity motor holding them still; torques fight it.
                self._call(p.setJointMotorControl2, self.model, joint["index"], p.VELOCITY_CONTROL, force=0)
                self._torque_joints.add(joint["index"])
            self._call(p.setJointMotorControl2, self.model, joint["index"], controlMode=getattr(p, mode),
                       targetPosition=joint["targetPosition"], targetVelocity=joint["targetVelocity"],
                       force=joint["force"], positionGain=joint["positionGain"],
                       velocityGain=joint["velocityGain"], maxVelocity=joint["maxVelocity"])
        for force in entries["Force"]:
            self._call(p.applyExternalForce, self.model, force["index"], forceObj=force["forceObj"],
                       posObj=force["posObj"], flags=self._flags(force["flags"]))
        for torque in entries["Torque"]:
            self._call(p.applyExternalTorque, self.model, torque["index"], torqueObj=torque["torqueObj"],
                       flags=self._flags(torque["flags"]))

    def _entries(self, kind: str, entries: Any, defaults: dict) -> list[dict]:
        if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
            raise ActionError(f'action["{kind}"] must be a list of dicts, got {entries!r}')
        completed = []
        for entry in entries:
            unknown = set(entry) - set(defaults)
            if unknown:
                raise ActionError(f'action["{kind}"]: unknown keys {sorted(unknown)}; accepted: {sorted(defaults)}')
            merged = {**defaults, **entry}
            index = merged["index"]
            if isinstance(index, str):
                if index not in self.joint_name_to_id:
                    raise ActionError(f'action["{kind}"]: no joint named {index!r}; the joints are '
                                      f"{sorted(self.joint_name_to_id)}")
                merged["index"] = self.joint_name_to_id[index]
            elif not isinstance(index, int) or not -1 <= index < self.joint_num:
                raise ActionError(f'action["{kind}"]: index {index!r} is not a joint of {self.world_file} '
                                  f"(0..{self.joint_num - 1}, or -1 for the base)")
            completed.append(merged)
        return completed

    def _flags(self, flags: Any) -> int:
        if isinstance(flags, str):
            if flags not in ("LINK_FRAME", "WORLD_FRAME"):
                raise ActionError(f"flags {flags!r} must be LINK_FRAME or WORLD_FRAME")
            return getattr(self._p, flags)
        return flags

    def reset(self) -> int:
        self._call(self._p.restoreState, self._initial_state)
        self._time_ns = 0
        return 0

    def shutdown(self) -> None:
        if not self._closed:
            self._closed = True
            self._p.disconnect(physicsClientId=self.physics_client)

    def get_model_properties(self, p_type: str) -> dict[str, int]:
        names = {"Joint": self.joint_name_to_id, "Link": self.link_name_to_id, "Body": self.body_name_to_id}
        self._check_type(p_type)
        return dict(names[p_type])

    def get_model_property(self, p_name: str, p_type: str) -> Any:
        self._check_type(p_type)
        p = self._p
        names = self.get_model_properties(p_type)
        if p_name not in names:
            raise PropertyError(f"{self.world_file} has no {p_type} named {p_name!r}; they are {sorted(names)}")
        if p_type == "Joint":
            return self._call(p.getJointState, self.model, names[p_name])
        if p_type == "Link":
            return self._call(p.getLinkState, self.model, names[p_name])
        return self._call(p.getDynamicsInfo, names[p_name], -1)

    def get_model_all_properties(self, p_type: str) -> Any:
        self._check_type(p_type)
        p = self._p
        if p_type == "Joint":
            return self._call(p.getJointStates, self.model, list(range(self.joint_num)))
        if p_type == "Link":
            return self._call(p.getLinkStates, self.model, list(self.link_name_to_id.values()))
        return [self._call(p.getDynamicsInfo, body, -1) for body in self.body_name_to_id.values()]

    def get_sim_time(self) -> float:
        return self._time_ns / 1e9

    @staticmethod
    def _check_type(p_type: str) -> None:
        if p_type not in PROPERTY_TYPES:
            raise PropertyError(f"Wrong Type {p_type!r}. Supported property types are {list(PROPERTY_TYPES)}")
