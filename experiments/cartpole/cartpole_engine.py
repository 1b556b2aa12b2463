"""The CartPole engine: steps Gymnasium's CartPole-v1 with the action a transceiver function sends,
publishes the observation, and keeps score of how long the pole stays up.

Datapacks:
    action       in:  {"action": 0 | 1}  (push the cart left | right)
    observation  out: {"observation": [x, x_dot, theta, theta_dot]}
    balance      out: {"steps_up": steps of the current episode, "longest": longest episode in steps,
                       "longest_s": the same in seconds, "falls": episodes that ended with the pole
                       down, "episodes": episodes ended, "time_s": simulation time}
    report       in:  set by the client (the main script) to have the status function report every
                      step (balance_status.py); the engine only keeps it, empty until then
    steer        in:  steered from outside (steering.json): {"push": n, "gain": g}; a push of n
                      steps forces the cart right (n > 0) or left (n < 0) for |n| steps, counted
                      down here; the controller reads the gain (controller.py)

An episode ends when the pole falls (more than 12 degrees) or the cart leaves the track (falls),
or after 500 steps, CartPole-v1's limit (not a fall); the environment then starts a new one.
"""

from nrp_core.engines.py_sim import PySimEngineScript

INITIAL_STEER = {"push": 0, "gain": 1.0}


class Script(PySimEngineScript):
    def initialize(self):
        self._steps_up = 0
        self._longest = 0
        self._falls = 0
        self._episodes = 0
        self._registerDataPack("action")
        self._registerDataPack("observation")
        self._registerDataPack("balance")
        self._registerDataPack("report")
        self._registerDataPack("steer")
        self._setDataPack("steer", dict(INITIAL_STEER))
        self._publish()

    def runLoop(self, timestep_ns):
        action = self._getDataPack("action")
        if action is None:
            raise RuntimeError('no "action" datapack arrived before this step: is the controller TF loaded?')
        done = self.sim_manager.run_step(self._pushed(action["action"]), timestep_ns)
        self._steps_up += 1
        self._longest = max(self._longest, self._steps_up)
        if done:
            self._episodes += 1
            if self.sim_manager.get_model_property("terminated", "Property"):
                self._falls += 1
            self._steps_up = 0
        self._publish()

    def _pushed(self, action):
        """The controller's action, unless a steered push is under way (one step of it is used up)."""
        steer = self._getDataPack("steer") or {}
        push = int(steer.get("push") or 0)
        if not push:
            return action
        self._setDataPack("steer", {**steer, "push": push - 1 if push > 0 else push + 1})
        return 1 if push > 0 else 0

    def _publish(self):
        self._setDataPack("observation",
                          {"observation": self.sim_manager.get_model_property("observation", "Property")})
        self._setDataPack("balance", self._balance())

    def _balance(self):
        step_s = self._config["EngineTimestep"]
        return {"steps_up": self._steps_up, "longest": self._longest, "longest_s": round(self._longest * step_s, 6),
                "falls": self._falls, "episodes": self._episodes, "time_s": self.sim_manager.get_sim_time()}

    def reset(self):
        self.sim_manager.reset()
        self._steps_up = self._longest = self._falls = self._episodes = 0
        self._setDataPack("action", None)
        self._setDataPack("report", None)
        self._setDataPack("steer", dict(INITIAL_STEER))
        self._publish()

    def shutdown(self):
        balance = self._balance()
        print(f"cartpole: pole up for at most {balance['longest']} steps ({balance['longest_s']:.2f} s); "
              f"{balance['falls']} falls in {balance['episodes']} finished episodes over {balance['time_s']:.2f} s",
              flush=True)
        self.sim_manager.shutdown()
