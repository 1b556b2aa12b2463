"""Protobuf datapacks, as nrp-core's `nrp_core.data.nrp_protobuf`: one `<Package><Message>DataPack`
class per message of the shipped packages (`DumpStringDataPack`, `WrappersInt32ValueDataPack`, ...),
and its `<Package><Message>RawData` twin for status-function observations."""

from engines.datapacks import load_payload_modules, protobuf_datapack_class, protobuf_raw_data_class


def _datapack_classes() -> dict[str, type]:
    import importlib

    from nrp_protobuf.proto_modules import proto_modules

    load_payload_modules()
    classes = {}
    for module_name in proto_modules:
        for descriptor in importlib.import_module(module_name).DESCRIPTOR.message_types_by_name.values():
            name = descriptor.full_name
            for cls in (protobuf_datapack_class(name), protobuf_raw_data_class(name)):
                classes[cls.__name__] = cls
    return classes


globals().update(_datapack_classes())
__all__ = sorted(name for name in globals() if name.endswith(("DataPack", "RawData")))
