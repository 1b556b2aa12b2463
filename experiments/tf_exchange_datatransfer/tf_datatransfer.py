from nrp_core import *
from nrp_core.data.nrp_protobuf import *


@EngineDataPack(keyword='datapack_python', id=DataPackIdentifier('datapack1', 'python_1'))
@TransceiverFunction("datatransfer_engine")
def to_datatransfer(datapack_python):
    # Engine 1's time, in seconds, as a scalar, a [time, timestep] array and a Dump array.
    time_s = datapack_python.data["time"] / 1e9
    timestep_s = datapack_python.data["timestep"] / 1e9

    engine_time = WrappersDoubleValueDataPack("engine_time", "datatransfer_engine")
    engine_time.data.value = time_s

    engine_clock = NrpGenericProtoArrayDoubleDataPack("engine_clock", "datatransfer_engine")
    engine_clock.data.array.extend([time_s, timestep_s])
    engine_clock.data.shape.append(2)

    time_array = DumpArrayFloatDataPack("time_array", "datatransfer_engine")
    time_array.data.float_stream.extend([time_s, timestep_s])

    return [engine_time, engine_clock, time_array]
