"""A PD controller that balances the pole: push the cart towards the side the pole leans to.

The push direction is the sign of a weighted sum of the pole's angle and angular velocity (the PD
terms) plus small cart position and velocity terms, which keep the cart from drifting off the
track. CartPole's action is only left or right, so the sum's sign is all that matters. The pole
terms are scaled by the steerable gain (the engine's `steer` datapack, 1 unless steered).
"""

from nrp_core import *
from nrp_core.data.nrp_json import *

GAINS = {"x": 0.05, "x_dot": 0.2, "theta": 1.0, "theta_dot": 0.3}


@EngineDataPack(keyword="observation", id=DataPackIdentifier("observation", "cartpole"))
@EngineDataPack(keyword="steer", id=DataPackIdentifier("steer", "cartpole"))
@TransceiverFunction("cartpole")
def controller(observation, steer):
    x, x_dot, theta, theta_dot = observation.data["observation"]
    gain = 1.0 if steer.isEmpty() else float(steer.data.get("gain", 1.0))
    push = (GAINS["x"] * x + GAINS["x_dot"] * x_dot
            + gain * (GAINS["theta"] * theta + GAINS["theta_dot"] * theta_dot))
    action = JsonDataPack("action", "cartpole")
    action.data["action"] = 1 if push > 0 else 0
    return [action]
