"""The names an experiment's function files find without importing them: what `from nrp_core import *`
gives in nrp-core 1.4 (decorators, datapack types, the simulation's time and iteration).

The manager starts each function file's namespace from these; `nrp_core` re-exports them, so that a
file that does import them gets the same objects.
"""

from engines.datapacks import DataPackIdentifier, JsonDataPack, JsonRawData
from engines.nrpcoresim.functions import (EngineDataPack, EngineDataPacks, PreprocessedDataPack,
                                          PreprocessingFunction, SimulationIteration, SimulationTime,
                                          StatusFunction, TransceiverFunction)
from engines.nrpcoresim.processor import simulation_iteration as getSimulationIteration  # noqa: N812
from engines.nrpcoresim.processor import simulation_time as getSimulationTime  # noqa: N812

__all__ = [
    "DataPackIdentifier", "EngineDataPack", "EngineDataPacks", "JsonDataPack", "JsonRawData",
    "PreprocessedDataPack", "PreprocessingFunction", "SimulationIteration", "SimulationTime", "StatusFunction",
    "TransceiverFunction", "getSimulationIteration", "getSimulationTime",
]
