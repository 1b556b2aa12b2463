"""Generate the `nrp_protobuf` package from the .proto sources in this folder.

    python protos/generate.py          # (re)write nrp_protobuf/
    python protos/generate.py --check  # exit 1 if nrp_protobuf/ differs from what would be generated

The generated modules are committed so that an install needs no protoc; `--check` (run by CI) keeps
them honest. Output depends on the grpcio-tools version, which is pinned in pyproject.toml's `dev` extra.
"""

import argparse
import pathlib
import re
import sys
import tempfile

PROTO_DIR = pathlib.Path(__file__).resolve().parent
PACKAGE_DIR = PROTO_DIR.parent / "nrp_protobuf"

# Message packages usable as datapack payloads, in the order nrp-core lists them.
PAYLOAD_MODULES = ["dump", "edlutdata", "gazebo", "nrpgenericproto", "enginetest", "wrappers"]

PACKAGE_INIT = '''"""Protobuf modules of nrp-core 1.4's message packages, generated from protos/ (do not edit)."""
'''

PROTO_MODULES = '''"""Payload modules, for code that needs every message type (generated, do not edit)."""

proto_modules = [
{entries}]
'''


def _generate_into(out_dir: pathlib.Path) -> None:
    from grpc_tools import protoc
    import grpc_tools

    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    protos = sorted(p.name for p in PROTO_DIR.glob("*.proto"))
    args = ["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--python_out={out_dir}",
            f"--pyi_out={out_dir}", *protos]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed on the message protos")
    services = ["engine_grpc.proto", "nrp_server.proto", "nrp_jupyter_engine.proto", "nrp_steering.proto"]
    if protoc.main(["protoc", f"-I{PROTO_DIR}", f"-I{include}", f"--grpc_python_out={out_dir}", *services]) != 0:
        raise SystemExit("protoc failed on the service protos")
    # protoc writes flat imports (`import engine_grpc_pb2`); inside a package they must be relative.
    flat_import = re.compile(r"^import (\w+_pb2) as (\w+)$", re.MULTILINE)
    for path in out_dir.glob("*.py*"):
        path.write_text(flat_import.sub(r"from . import \1 as \2", path.read_text()))
    (out_dir / "__init__.py").write_text(PACKAGE_INIT)
    entries = "".join(f'    "nrp_protobuf.{name}_pb2",\n' for name in PAYLOAD_MODULES)
    (out_dir / "proto_modules.py").write_text(PROTO_MODULES.format(entries=entries))


def _snapshot(directory: pathlib.Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(directory.glob("*.py*")) if p.is_file()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        fresh_dir = pathlib.Path(scratch)
        _generate_into(fresh_dir)
        fresh = _snapshot(fresh_dir)
    if options.check:
        current = _snapshot(PACKAGE_DIR) if PACKAGE_DIR.exists() else {}
        stale = sorted(name for name in fresh.keys() | current.keys() if fresh.get(name) != current.get(name))
        if stale:
            print("nrp_protobuf/ is out of date with protos/: " + ", ".join(stale), file=sys.stderr)
            print("run: python protos/generate.py", file=sys.stderr)
            return 1
        return 0
    PACKAGE_DIR.mkdir(exist_ok=True)
    for old in PACKAGE_DIR.glob("*.py*"):
        old.unlink()
    for name, text in fresh.items():
        (PACKAGE_DIR / name).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
