"""A PD controller with gravity compensation that holds the pendulum at its target angle.

    torque = KP (target - angle) - KD velocity + m g l sin(angle)

The last term cancels gravity's pull on the bob (m = 1 kg at l = 0.5 m, as in pendulum.urdf), so
the PD terms alone settle the error: about critically damped, the natural frequency of
sqrt(KP / (m l²)) = 12.6 rad/s settling in well under a second.
"""

import math

from nrp_core import *
from nrp_core.data.nrp_json import *

KP = 40.0  # N·m / rad
KD = 6.0   # N·m·s / rad
MASS_KG = 1.0
LENGTH_M = 0.5
GRAVITY = 9.8  # m/s², as the simulator's


@EngineDataPack(keyword="joint", id=DataPackIdentifier("joint", "pendulum"))
@TransceiverFunction("pendulum")
def pd_controller(joint):
    angle, velocity, target = joint.data["angle"], joint.data["velocity"], joint.data["target"]
    torque = KP * (target - angle) - KD * velocity + MASS_KG * GRAVITY * LENGTH_M * math.sin(angle)
    command = JsonDataPack("torque", "pendulum")
    command.data["torque"] = torque
    return [command]
