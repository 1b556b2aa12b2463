"""Streams what shows whether the pole is balanced to the datatransfer engine, one number per
datapack (the control panel plots each datapack on its own): the cart's position on the track (m),
the pole's angle from upright (rad), and how many steps the pole has been up in this episode.

The function runs when the datatransfer engine is synced, every 0.1 s (its EngineTimestep), so
every fifth step: syncing one more engine at every step would cost more than the cart's own step.
"""

from nrp_core import *
from nrp_core.data.nrp_protobuf import *


def _number(name, value):
    datapack = WrappersDoubleValueDataPack(name, "datatransfer_engine")
    datapack.data.value = value
    return datapack


@EngineDataPack(keyword="observation", id=DataPackIdentifier("observation", "cartpole"))
@EngineDataPack(keyword="balance", id=DataPackIdentifier("balance", "cartpole"))
@TransceiverFunction("datatransfer_engine")
def stream_balance(observation, balance):
    x, _, theta, _ = observation.data["observation"]
    return [_number("cart_position", x), _number("pole_angle", theta),
            _number("steps_up", balance.data["steps_up"])]
