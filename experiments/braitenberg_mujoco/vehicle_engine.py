"""The vehicle engine: a MuJoCo two-wheeled vehicle (vehicle.xml) and its stimulus, a red pillar.

Datapacks:
    eyes    out: {"left": [5 distances], "right": [5 distances]} in m, one per rangefinder ray of
                 each eye from the innermost (3 degrees) outwards; -1 where a ray sees nothing
    wheels  in:  {"left": rad/s, "right": rad/s}, the wheels' target velocities (none yet: at rest)
    pose    out: {"x": m, "y": m, "yaw": rad, "target": [x, y], "distance": m to the pillar's axis,
                  "bearing_error": rad from the heading to the pillar, positive to the left,
                  "initial_distance": m to the pillar's axis at the start, "time_s": s}
    camera  out: {"width": 64, "height": 48, "rgb": base64 of the rows of RGB bytes} from the camera
                 on the vehicle (`eye_view`), every CameraEverySteps steps from the first; empty
                 at the other steps, so that the image crosses the network only when it is new
    report  in:  set by the client (the main script) to have the status function report every
                 step (vehicle_status.py); the engine only keeps it, empty until then
    pillar  in:  {"x": m, "y": m}, where the pillar stands; steered from outside (steering.json) to
                 move the stimulus while the vehicle runs (a missing key keeps that coordinate)

EngineExtraConfigs: Target, the pillar's [x, y] in m (default [3, 1.5]); CameraEverySteps, the
steps between two camera images (default 10; 0: no camera). Every half second of simulated time
the engine prints the pose, which is how a run can be followed and checked.
"""

import base64
import math

from nrp_core.engines.py_sim import PySimEngineScript

EYE_RAYS = 5
PRINT_EVERY_S = 0.5
CAMERA = "eye_view"
CAMERA_WIDTH, CAMERA_HEIGHT = 64, 48


class Script(PySimEngineScript):
    def initialize(self):
        extra = self._config.get("EngineExtraConfigs", {})
        self._target = [float(value) for value in extra.get("Target", [3.0, 1.5])]
        self._configured_target = list(self._target)
        if len(self._target) != 2:
            raise ValueError(f"EngineExtraConfigs.Target must be [x, y], got {extra.get('Target')!r}")
        self._camera_every = extra.get("CameraEverySteps", 10)
        if type(self._camera_every) is not int or self._camera_every < 0:
            raise ValueError("EngineExtraConfigs.CameraEverySteps must be a whole number of steps "
                             f"(0: no camera), got {self._camera_every!r}")
        self._eyes = {side: [f"{side}_eye_{ray}" for ray in range(EYE_RAYS)] for side in ("left", "right")}
        self._registerDataPack("eyes")
        self._registerDataPack("wheels")
        self._registerDataPack("pose")
        self._registerDataPack("camera")
        self._registerDataPack("report")
        self._registerDataPack("pillar")
        self._start()

    def _start(self):
        self._place_pillar(self._configured_target)
        self._setDataPack("pillar", {"x": self._target[0], "y": self._target[1]})
        self._next_print_s = 0.0
        self._steps = 0
        self._initial_distance = None
        self._setDataPack("wheels", None)
        self._setDataPack("report", None)
        self._publish()

    def _place_pillar(self, target):
        simulator = self.sim_manager.sim_interface
        self._target = [float(target[0]), float(target[1])]
        # The pillar is a mocap body: placing it is writing its position, then recomputing the sensors.
        simulator.data.mocap_pos[0][:2] = self._target
        simulator._mujoco.mj_forward(simulator.model, simulator.data)

    def runLoop(self, timestep_ns):
        pillar = self._getDataPack("pillar") or {}
        wanted = [pillar.get("x", self._target[0]), pillar.get("y", self._target[1])]
        if wanted != self._target:
            self._place_pillar(wanted)
        wheels = self._getDataPack("wheels")
        action = [wheels["left"], wheels["right"]] if wheels else [0.0, 0.0]
        self.sim_manager.run_step(action, timestep_ns)
        self._steps += 1
        self._publish()

    def _publish(self):
        manager = self.sim_manager
        self._setDataPack("eyes", {side: [float(manager.get_model_property(ray, "sensor")[0]) for ray in rays]
                                   for side, rays in self._eyes.items()})
        x, y, _ = manager.get_model_property("chassis", "body_xpos")
        w, qx, qy, qz = manager.get_model_property("chassis", "body_xquat")
        yaw = math.atan2(2 * (w * qz + qx * qy), 1 - 2 * (qy * qy + qz * qz))
        to_target = math.atan2(self._target[1] - y, self._target[0] - x)
        distance = math.hypot(self._target[0] - x, self._target[1] - y)
        if self._initial_distance is None:
            self._initial_distance = distance
        pose = {"x": float(x), "y": float(y), "yaw": yaw, "target": self._target, "distance": distance,
                "bearing_error": math.remainder(to_target - yaw, math.tau),
                "initial_distance": self._initial_distance, "time_s": manager.get_sim_time()}
        self._setDataPack("pose", pose)
        self._setDataPack("camera", self._camera_image() if self._camera_due() else None)
        if pose["time_s"] >= self._next_print_s - 1e-9:
            self._next_print_s += PRINT_EVERY_S
            self._print_pose(pose)

    def _camera_due(self):
        return self._camera_every > 0 and self._steps % self._camera_every == 0

    def _camera_image(self):
        pixels = self.sim_manager.sim_interface.render(CAMERA, CAMERA_WIDTH, CAMERA_HEIGHT)
        return {"width": CAMERA_WIDTH, "height": CAMERA_HEIGHT,
                "rgb": base64.b64encode(pixels.tobytes()).decode("ascii")}

    def _print_pose(self, pose):
        print(f"vehicle t={pose['time_s']:.2f} x={pose['x']:.3f} y={pose['y']:.3f} "
              f"yaw={math.degrees(pose['yaw']):.1f} bearing_error={math.degrees(pose['bearing_error']):.1f} "
              f"distance={pose['distance']:.3f}", flush=True)

    def reset(self):
        self.sim_manager.reset()
        self._start()

    def shutdown(self):
        self.sim_manager.shutdown()
