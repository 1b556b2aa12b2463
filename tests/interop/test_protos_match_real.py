"""Our generated nrp_protobuf describes the same wire format as PyPI nrp-protobuf 1.4.0.

Both packages are dumped by dump_protos.py (FileDescriptorProto as JSON), each by its own
interpreter, and compared on everything that shapes the wire or the generated API: file names and
imports, package, messages in order with their fields (name, number, type, label, type name,
oneof), nested types, enums, services and methods. Options and comments are left out: the real
protos carry empty `{}` method option blocks that change nothing.
"""

import json
import pathlib
import subprocess
import sys

import pytest

DUMP_SCRIPT = pathlib.Path(__file__).with_name("dump_protos.py")
MODULES = ["dump_pb2", "edlutdata_pb2", "engine_grpc_pb2", "enginetest_pb2", "gazebo_pb2",
           "nrp_server_pb2", "nrpgenericproto_pb2", "wrappers_pb2"]

pytestmark = [pytest.mark.real_client, pytest.mark.timeout(60)]


def _dump(python: str) -> dict:
    # From /, so that only the installed nrp_protobuf of that interpreter is importable.
    done = subprocess.run([python, str(DUMP_SCRIPT)], cwd="/", capture_output=True, text=True, timeout=50)
    if done.returncode != 0:
        raise AssertionError(f"{python} {DUMP_SCRIPT.name} failed:\n{done.stderr}")
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def dumps(real_client_python) -> tuple[dict, dict]:
    real, ours = _dump(real_client_python), _dump(sys.executable)
    if ".venv-nrp-client" not in real["location"] or real["location"] == ours["location"]:
        raise AssertionError(f"the real dump came from {real['location']}, ours from {ours['location']}")
    return real, ours


def _field(field: dict) -> dict:
    return {key: field.get(key) for key in
            ("name", "number", "type", "label", "type_name", "oneof_index", "proto3_optional", "extendee")}


def _enum(enum: dict) -> dict:
    return {"name": enum["name"], "values": [(v["name"], v.get("number", 0)) for v in enum.get("value", [])]}


def _message(message: dict) -> dict:
    return {
        "name": message["name"],
        "fields": [_field(f) for f in message.get("field", [])],
        "nested": [_message(m) for m in message.get("nested_type", [])],
        "enums": [_enum(e) for e in message.get("enum_type", [])],
        "oneofs": [o["name"] for o in message.get("oneof_decl", [])],
        "map_entry": message.get("options", {}).get("map_entry", False),
    }


def _file(proto: dict) -> dict:
    return {
        "name": proto["name"],
        "package": proto.get("package"),
        "syntax": proto.get("syntax", "proto2"),
        "dependency": proto.get("dependency", []),
        "messages": [_message(m) for m in proto.get("message_type", [])],
        "enums": [_enum(e) for e in proto.get("enum_type", [])],
        "services": [{"name": s["name"], "methods": [
            (m["name"], m["input_type"], m["output_type"], m.get("client_streaming", False),
             m.get("server_streaming", False)) for m in s.get("method", [])]}
            for s in proto.get("service", [])],
    }


def test_same_modules(dumps):
    real, ours = dumps
    assert sorted(real["files"]) == MODULES
    # Ours may add modules of its own (extensions), but every real one must be there.
    assert set(MODULES) <= set(ours["files"])
    assert ours["proto_modules"] == real["proto_modules"]
    assert {name: ours["grpc"].get(name) for name in real["grpc"]} == real["grpc"]


def test_extra_modules_stay_out_of_nrp_core_packages(dumps):
    real, ours = dumps
    real_packages = {proto.get("package") for proto in real["files"].values()}
    extra = {name: proto.get("package") for name, proto in ours["files"].items() if name not in real["files"]}
    assert not {name: package for name, package in extra.items() if package in real_packages}


@pytest.mark.parametrize("module", MODULES)
def test_descriptor_matches_real(dumps, module):
    real, ours = dumps
    expected, actual = _file(real["files"][module]), _file(ours["files"][module])
    assert expected["messages"] or expected["services"] or expected["enums"], "empty dump of the real module"
    assert actual == expected


def test_comparison_sees_a_renumbered_field(dumps):
    real, _ = dumps
    changed = json.loads(json.dumps(real["files"]["nrp_server_pb2"]))
    data_packs = next(m for m in changed["message_type"] if m["name"] == "DataPacks")
    data_packs["field"][0]["number"] = 1  # what a naive rewrite of `jsonDataPacks = 2` would do
    assert _file(changed) != _file(real["files"]["nrp_server_pb2"])
