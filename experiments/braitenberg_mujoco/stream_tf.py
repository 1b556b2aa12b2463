"""Streams what the vehicle senses and does to the datatransfer engine:

    left_eye, right_eye   the five rangefinder distances of each eye (m), innermost ray first; -1
                          for a ray that sees nothing
    wheel_speeds          the wheel speeds the brain commands (rad/s): [left, right]
    distance_to_pillar    from the vehicle to the pillar's axis (m)
    camera                the view of the camera on the vehicle, when the engine has a new one

The function runs when the datatransfer engine is synced, every 0.1 s (its EngineTimestep), so every
fifth step; the engine renders every tenth (CameraEverySteps), at times the function runs too.
"""

import base64

from nrp_core import *
from nrp_core.data.nrp_protobuf import *

ENGINE = "datatransfer_engine"
RGB8 = 1  # NrpGenericProto.IMAGE_TYPE


def _array(name, values):
    datapack = NrpGenericProtoArrayDoubleDataPack(name, ENGINE)
    datapack.data.array.extend(values)
    datapack.data.shape.append(len(values))
    return datapack


def _image(camera):
    datapack = NrpGenericProtoImageDataPack("camera", ENGINE)
    datapack.data.width = camera["width"]
    datapack.data.height = camera["height"]
    datapack.data.step = 3 * camera["width"]
    datapack.data.type = RGB8
    datapack.data.data = base64.b64decode(camera["rgb"])
    return datapack


@EngineDataPack(keyword="eyes", id=DataPackIdentifier("eyes", "vehicle"))
@EngineDataPack(keyword="wheels", id=DataPackIdentifier("wheels", "vehicle"))
@EngineDataPack(keyword="pose", id=DataPackIdentifier("pose", "vehicle"))
@EngineDataPack(keyword="camera", id=DataPackIdentifier("camera", "vehicle"))
@TransceiverFunction(ENGINE)
def stream_vehicle(eyes, wheels, pose, camera):
    distance = WrappersDoubleValueDataPack("distance_to_pillar", ENGINE)
    distance.data.value = pose.data["distance"]
    streamed = [_array("left_eye", eyes.data["left"]), _array("right_eye", eyes.data["right"]), distance]
    # No wheel speeds before the brain's first command, and no image between the engine's frames.
    if not wheels.isEmpty():
        streamed.append(_array("wheel_speeds", [wheels.data["left"], wheels.data["right"]]))
    if not camera.isEmpty():
        streamed.append(_image(camera.data))
    return streamed
