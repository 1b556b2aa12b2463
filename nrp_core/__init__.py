"""nrp-core 1.4's Python import name, as a thin surface over `engines`, so that experiment files
written for nrp-core (`from nrp_core import *`) load unchanged."""

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
