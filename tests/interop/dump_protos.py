"""Print, as JSON, the descriptors of every module of the importable `nrp_protobuf` package.

Run by test_protos_match_real.py with both interpreters (ours and the real client's venv), from a
directory where only the installed `nrp_protobuf` is importable, so both sides are dumped by the
same code. Only the standard library and protobuf are used: it must run under protobuf 5 and 7.
"""

import importlib
import json
import pathlib
import sys

from google.protobuf import descriptor_pb2, json_format


def _file_descriptor(module) -> dict:
    proto = descriptor_pb2.FileDescriptorProto()
    module.DESCRIPTOR.CopyToProto(proto)
    return json_format.MessageToDict(proto, preserving_proto_field_name=True)


def main() -> None:
    import nrp_protobuf

    # The wheel's nrp_protobuf is a namespace package (no __init__.py, so no __file__).
    [package_dir] = [pathlib.Path(entry) for entry in nrp_protobuf.__path__]
    files, services = {}, {}
    for path in sorted(package_dir.glob("*.py")):
        name = path.stem
        if name.endswith("_pb2"):
            files[name] = _file_descriptor(importlib.import_module(f"nrp_protobuf.{name}"))
        elif name.endswith("_pb2_grpc"):
            module = importlib.import_module(f"nrp_protobuf.{name}")
            services[name] = sorted(attr for attr in vars(module)
                                    if attr.endswith(("Stub", "Servicer")) or attr.startswith("add_"))
    proto_modules = importlib.import_module("nrp_protobuf.proto_modules").proto_modules
    json.dump({"files": files, "grpc": services, "proto_modules": proto_modules,
               "location": str(package_dir)}, sys.stdout)


if __name__ == "__main__":
    main()
