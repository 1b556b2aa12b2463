from nrp_core import *


@EngineDataPack(keyword="counter", id=DataPackIdentifier("counter", "python_1"))
@EngineDataPack(keyword="steps", id=DataPackIdentifier("steps", "python_2"))
@StatusFunction()
def status_function(counter, steps):
    count = counter.data["count"]
    done_at = counter.data["done_at"]
    done = done_at > 0 and count >= done_at
    return done, [{"count": count}, steps.data]
