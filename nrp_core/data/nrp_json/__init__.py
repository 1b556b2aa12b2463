"""JSON datapacks, as nrp-core's `nrp_core.data.nrp_json`."""

from engines.datapacks import DataPackIdentifier, JsonDataPack, JsonRawData

__all__ = ["DataPackIdentifier", "JsonDataPack", "JsonRawData"]
