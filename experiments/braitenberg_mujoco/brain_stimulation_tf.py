"""Eyes to brain: each eye's closeness to what it sees sets the rate of its Poisson generator.

An eye's stimulus is the mean over its rays of (1 - distance / SIGHT_M), 0 for a ray that sees
nothing or nothing nearer than SIGHT_M: 0 when the pillar is out of sight, 1 when it fills the
eye at point-blank range.
"""

from nrp_core import *
from nrp_core.data.nrp_json import *

SIGHT_M = 6.0
MAX_RATE_HZ = 2000.0


def stimulus(distances):
    return sum(max(0.0, 1.0 - d / SIGHT_M) for d in distances if d >= 0) / len(distances)


@EngineDataPack(keyword='eyes', id=DataPackIdentifier('eyes', 'vehicle'))
@TransceiverFunction("nest")
def brain_stimulation(eyes):
    if eyes.isEmpty():
        return []
    lpg = JsonDataPack("lpg", "nest")
    rpg = JsonDataPack("rpg", "nest")
    lpg.data["rate"] = MAX_RATE_HZ * stimulus(eyes.data["left"])
    rpg.data["rate"] = MAX_RATE_HZ * stimulus(eyes.data["right"])
    return [lpg, rpg]
