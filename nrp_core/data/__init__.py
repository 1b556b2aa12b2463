"""Datapack types, by protocol: `nrp_core.data.nrp_json` and `nrp_core.data.nrp_protobuf`."""
