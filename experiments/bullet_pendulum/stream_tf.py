"""Streams the pendulum's angle, its target (rad) and the torque the controller applied (N·m) to the
datatransfer engine, one number per datapack (the control panel plots each datapack on its own).

The function runs when the datatransfer engine is synced, every 0.05 s (its EngineTimestep), so
every fifth step: syncing one more engine at every step would cost more than the pendulum's own step.
"""

from nrp_core import *
from nrp_core.data.nrp_protobuf import *


def _number(name, value):
    datapack = WrappersDoubleValueDataPack(name, "datatransfer_engine")
    datapack.data.value = value
    return datapack


@EngineDataPack(keyword="joint", id=DataPackIdentifier("joint", "pendulum"))
@TransceiverFunction("datatransfer_engine")
def stream_joint(joint):
    return [_number(key, joint.data[key]) for key in ("angle", "target", "torque")]
