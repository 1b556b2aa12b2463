"""`from nrp_core.engines.nest_json import RegisterDataPack, CreateDataPack`, as nrp-core brain scripts
(a nest_json engine's NestInitFileName) write it; `brain_devices` holds nrp-core's device helpers."""

from engines.servers.nest.datapacks import create_datapack as CreateDataPack  # noqa: N812 (nrp-core's name)
from engines.servers.nest.datapacks import register_datapack as RegisterDataPack  # noqa: N812 (nrp-core's name)
from nrp_core.engines.nest_json import brain_devices

__all__ = ["CreateDataPack", "RegisterDataPack", "brain_devices"]
