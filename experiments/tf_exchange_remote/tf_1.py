from nrp_core import *
from nrp_core.data.nrp_json import *
from nrp_core.data.nrp_protobuf import *


# Engine 1 speaks JSON and engine 2 protobuf: the function carries the time across.
@EngineDataPack(keyword='datapack_python', id=DataPackIdentifier('datapack1', 'python_1'))
@TransceiverFunction("python_2")
def transceiver_function(datapack_python):
    rec_datapack2 = DumpStringDataPack("rec_datapack2", "python_2")
    rec_datapack2.data.string_stream = str(datapack_python.data["time"])
    return [rec_datapack2]
