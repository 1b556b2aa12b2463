"""Streams the pendulum's angle, its target (rad) and the torque the controller applied (N·m) to the
datatransfer engine, one number per datapack (the control panel plots each datapack on its own)."""

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
