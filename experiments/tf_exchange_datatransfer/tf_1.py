from nrp_core import *
from nrp_core.data.nrp_json import *


@EngineDataPack(keyword='datapack_python', id=DataPackIdentifier('datapack1', 'python_1'))
@TransceiverFunction("python_2")
def transceiver_function(datapack_python):
    rec_datapack2 = JsonDataPack("rec_datapack2", "python_2")
    for k in datapack_python.data.keys():
        rec_datapack2.data[k] = datapack_python.data[k]

    return [rec_datapack2]
