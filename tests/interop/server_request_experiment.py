"""An experiment that shows what nrp-core's server requests reach: two python_json engines that
publish what their reset saw of the client's datapacks, a TF reading both, and optionally a status
function whose observations mix JSON and protobuf RawData. Used by the server-request tests with our
client and by the conformance tests with both clients."""

import json
import pathlib
import textwrap

ENGINE = '''
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("actions")
        self._registerDataPack("state")
        self._publish(reset_saw=None)

    def runLoop(self, timestep_ns):
        self._publish(reset_saw=None)

    def reset(self):
        # What the client sent with (or before) the reset request is already here.
        self._publish(reset_saw=self._getDataPack("actions"))

    def _publish(self, reset_saw):
        self._setDataPack("state", {"engine": self._name, "reset_saw": reset_saw})

    def shutdown(self):
        pass
'''

TF = '''
from nrp_core import *


@EngineDataPack(keyword="a", id=DataPackIdentifier("state", "one"))
@EngineDataPack(keyword="b", id=DataPackIdentifier("state", "two"))
@TransceiverFunction("two")
def observe(a, b):
    return []
'''

RAW_DATA_STATUS = '''
from nrp_core import *
from nrp_core.data.nrp_json import JsonRawData
from nrp_core.data.nrp_protobuf import DumpStringRawData, EngineTestTestPayloadRawData


@SimulationIteration(keyword="i")
@StatusFunction()
def status(i):
    text = DumpStringRawData()
    text.data.string_stream = "step %d" % i
    number = EngineTestTestPayloadRawData()
    number.data.integer = i
    return i == 2, [JsonRawData({"i": i}), number, text]
'''


def write_experiment(folder: pathlib.Path, *, raw_data_status: bool = False) -> str:
    folder.mkdir()
    (folder / "engine.py").write_text(textwrap.dedent(ENGINE))
    (folder / "tf.py").write_text(textwrap.dedent(TF))
    config = {
        "SimulationName": "server_requests", "SimulationTimeout": 1,
        "EngineConfigs": [
            {"EngineType": "python_json", "EngineName": "one", "PythonFileName": "engine.py", "EngineTimestep": 0.01},
            {"EngineType": "python_json", "EngineName": "two", "PythonFileName": "engine.py", "EngineTimestep": 0.02},
        ],
        "DataPackProcessingFunctions": [{"Name": "observe", "FileName": "tf.py"}],
    }
    if raw_data_status:
        (folder / "status.py").write_text(textwrap.dedent(RAW_DATA_STATUS))
        config["StatusFunction"] = {"Name": "status", "FileName": "status.py"}
    (folder / "simulation_config.json").write_text(json.dumps(config))
    return str(folder)
