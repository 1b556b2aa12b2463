"""The pendulum engine: a PyBullet pendulum whose hinge takes the torque a transceiver function sends.

Datapacks:
    torque  in:  {"torque": N·m}  (none yet: no torque)
    joint   out: {"angle": rad, "velocity": rad/s, "torque": the torque applied in the last step,
                  "target": rad, "bob": [x, y, z] world position of the bob (m), "time_s": s}
    report  in:  set by the client (the main script) to have the status function report every step
                 (pendulum_status.py); the engine only keeps it, empty until then

EngineExtraConfigs: TargetAngle (rad, default 1.0) is published for the controller; InitialAngle
(rad, default 0, hanging down) is where the pendulum starts, at rest.
"""

import pybullet

from nrp_core.engines.py_sim import PySimEngineScript


class Script(PySimEngineScript):
    def initialize(self):
        extra = self._config.get("EngineExtraConfigs", {})
        self._target = float(extra.get("TargetAngle", 1.0))
        self._initial_angle = float(extra.get("InitialAngle", 0.0))
        self._hinge = self.sim_manager.get_model_properties("Joint")["hinge"]
        self._applied = 0.0
        self._registerDataPack("torque")
        self._registerDataPack("joint")
        self._registerDataPack("report")
        self._start()

    def _start(self):
        simulator = self.sim_manager.sim_interface
        pybullet.resetJointState(simulator.model, self._hinge, self._initial_angle, 0.0,
                                 physicsClientId=simulator.physics_client)
        self._applied = 0.0
        self._setDataPack("torque", None)
        self._publish()

    def runLoop(self, timestep_ns):
        command = self._getDataPack("torque")
        self._applied = float(command["torque"]) if command else 0.0
        action = {"Joint": [{"index": "hinge", "controlMode": "TORQUE_CONTROL", "force": self._applied}]}
        self.sim_manager.run_step(action, timestep_ns)
        self._publish()

    def _publish(self):
        angle, velocity, _, _ = self.sim_manager.get_model_property("hinge", "Joint")
        bob = self.sim_manager.get_model_property("bob", "Link")[0]
        self._setDataPack("joint", {"angle": angle, "velocity": velocity, "torque": self._applied,
                                    "target": self._target, "bob": list(bob),
                                    "time_s": self.sim_manager.get_sim_time()})

    def reset(self):
        self.sim_manager.reset()
        self._setDataPack("report", None)
        self._start()

    def shutdown(self):
        joint = self._getDataPack("joint")
        print(f"pendulum: angle {joint['angle']:.4f} rad (target {joint['target']:.4f}), velocity "
              f"{joint['velocity']:.4f} rad/s, bob at [{', '.join(f'{c:.4f}' for c in joint['bob'])}] m, "
              f"t={joint['time_s']:.2f} s", flush=True)
        self.sim_manager.shutdown()
