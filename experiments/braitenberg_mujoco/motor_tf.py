"""Brain to wheels: each wheel turns at a cruising speed plus a gain times the membrane potential
of its integrator neuron, which charges while the sensor population driving it fires."""

from nrp_core import *
from nrp_core.data.nrp_json import *

CRUISE_RAD_S = 8.0
GAIN_RAD_S_PER_MV = 30.0


@EngineDataPack(keyword='left_motor', id=DataPackIdentifier('left_motor', 'nest'))
@EngineDataPack(keyword='right_motor', id=DataPackIdentifier('right_motor', 'nest'))
@TransceiverFunction("vehicle")
def motor_control(left_motor, right_motor):
    wheels = JsonDataPack("wheels", "vehicle")
    wheels.data["left"] = CRUISE_RAD_S + GAIN_RAD_S_PER_MV * left_motor.data[0]["V_m"]
    wheels.data["right"] = CRUISE_RAD_S + GAIN_RAD_S_PER_MV * right_motor.data[0]["V_m"]
    return [wheels]
