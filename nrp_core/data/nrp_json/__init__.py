"""JSON datapacks, as nrp-core's `nrp_core.data.nrp_json`."""

from engines.datapacks import DataPackIdentifier, JsonDataPack, JsonRawData, NlohmannJson

# nrp-core names the payload type of status observations so too.
SimulationStatus = NlohmannJson

__all__ = ["DataPackIdentifier", "JsonDataPack", "JsonRawData", "NlohmannJson", "SimulationStatus"]
