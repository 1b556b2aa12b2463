"""The baseline: push the cart left or right at random (seeded, so a run is reproducible)."""

import random

from nrp_core import *
from nrp_core.data.nrp_json import *

_coin = random.Random(0)


@EngineDataPack(keyword="observation", id=DataPackIdentifier("observation", "cartpole"))
@TransceiverFunction("cartpole")
def random_policy(observation):
    action = JsonDataPack("action", "cartpole")
    action.data["action"] = _coin.randrange(2)
    return [action]
