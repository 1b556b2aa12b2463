"""The engine script base classes and the script loader, in process."""

import os
import sys

import pytest

from engines.servers.script.grpc_script import GrpcEngineScript
from engines.servers.script.json_script import EngineScript
from engines.servers.script.script_base import DataPackAlreadyRegistered, DataPackNotRegistered
from engines.servers.script.script_host import EngineStateError, ScriptHost
from engines.servers.script.script_loader import ScriptLoadError, load_script_class
from nrp_protobuf import dump_pb2, engine_grpc_pb2, wrappers_pb2


def test_nrp_core_import_paths_are_the_base_classes():
    from nrp_core.engines.python_grpc import GrpcEngineScript as Grpc
    from nrp_core.engines.python_json import EngineScript as Json
    assert Json is EngineScript and Grpc is GrpcEngineScript


class JsonScript(EngineScript):
    def __init__(self):  # no super().__init__(), as many nrp-core scripts do
        self.count = 0

    def runLoop(self, timestep_ns):
        self.count += 1


def test_engine_script_state_and_helpers():
    script = JsonScript()
    script._name = "python_1"
    assert (script._datapacks, script._time_ns, script._config) == ({}, 0, {})
    script._registerDataPack("a")
    assert script._getDataPack("a") is None
    script._setDataPack("a", {"x": 1})
    assert script._getDataPack("a") == {"x": 1}
    assert script._getRegisteredDataPackNames() == ["a"]
    assert script._getEngineName() == "python_1"
    script._advanceTime(5)
    assert script._time_ns == 5

    with pytest.raises(DataPackAlreadyRegistered, match=r"\[python_1\] .* DataPack with specified name \(a\) already registered"):
        script._registerDataPack("a")
    with pytest.raises(DataPackNotRegistered) as raised:
        script._setDataPack("b", {})
    assert str(raised.value) == "[python_1] Attempting to set data on an unregistered DataPack (b)"
    with pytest.raises(KeyError):
        script._getDataPack("b")


def test_a_script_without_runloop_says_so():
    class Lazy(EngineScript):
        pass

    with pytest.raises(NotImplementedError, match="Lazy must define runLoop"):
        Lazy().runLoop(1)


def test_grpc_script_registers_typed_datapacks():
    script = GrpcEngineScript()
    script._name = "python_1"
    script._registerDataPack("s", dump_pb2.String)
    assert script._getDataPack("s") == dump_pb2.String()
    with pytest.raises(TypeError, match="'protobuf_type' argument must be a Python Protobuf Message type"):
        script._registerDataPack("x", dict)
    with pytest.raises(TypeError, match="'protobuf_type' argument must be a type"):
        script._registerDataPack("y", dump_pb2.String())
    with pytest.raises(DataPackAlreadyRegistered):
        script._registerDataPack("s", dump_pb2.String)
    with pytest.raises(TypeError, match=r"DataPack \(s\) was registered with type Dump.String. Attempting to set it with type Int32Value"):
        script._setDataPack("s", wrappers_pb2.Int32Value(value=1))

    script._setDataPack("s", dump_pb2.String(string_stream="hi"))
    msg = script._getDataPackMsg("s")
    assert (msg.dataPackId.dataPackName, msg.dataPackId.engineName, msg.dataPackId.dataPackType) == (
        "s", "python_1", "Dump.String")
    value = dump_pb2.String()
    assert msg.data.Unpack(value) and value.string_stream == "hi"


def test_grpc_script_unpacks_received_datapacks_in_place():
    script = GrpcEngineScript()
    script._registerDataPack("s", dump_pb2.String)
    held = script._getDataPack("s")
    msg = engine_grpc_pb2.DataPackMessage()
    msg.dataPackId.dataPackName = "s"
    msg.data.Pack(dump_pb2.String(string_stream="new"))
    script._handleDataPackMsg(msg)
    assert held.string_stream == "new"

    msg.data.Pack(wrappers_pb2.StringValue(value="wrong"))
    with pytest.raises(TypeError, match=r"DataPack \(s\) is of type Dump.String \(received Wrappers.StringValue\)"):
        script._handleDataPackMsg(msg)
    msg.dataPackId.dataPackName = "unknown"
    with pytest.raises(DataPackNotRegistered):
        script._handleDataPackMsg(msg)


@pytest.fixture
def restore_sys_path(tmp_path):
    """Undo the loader's sys.path entry and forget the test's script modules (only those)."""
    path = list(sys.path)
    yield
    sys.path[:] = path
    for name, module in list(sys.modules.items()):
        if (getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]


def test_loader_imports_relative_to_cwd_with_neighbour_imports(tmp_path, monkeypatch, restore_sys_path):
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "helper.py").write_text("VALUE = 42\n")
    (tmp_path / "exp" / "json.py").write_text(
        "import helper\nfrom nrp_core.engines.python_json import EngineScript\n"
        "class Script(EngineScript):\n    value = helper.VALUE\n")
    monkeypatch.chdir(tmp_path)
    # Named like a module already imported: loaded anyway, without replacing that module.
    script_class = load_script_class(os.path.join("exp", "json.py"), EngineScript)
    assert script_class.value == 42
    assert sys.modules["json"].__name__ == "json" and hasattr(sys.modules["json"], "dumps")


def test_loader_errors(tmp_path, restore_sys_path):
    with pytest.raises(ScriptLoadError, match="does not exist"):
        load_script_class(str(tmp_path / "missing.py"), EngineScript)
    (tmp_path / "noscript.py").write_text("x = 1\n")
    with pytest.raises(ScriptLoadError, match="defines no class Script"):
        load_script_class(str(tmp_path / "noscript.py"), EngineScript)


def test_failure_message_points_into_the_script(tmp_path, monkeypatch, restore_sys_path):
    (tmp_path / "engine.py").write_text(
        "from nrp_core.engines.python_json import EngineScript\n\n"
        "class Script(EngineScript):\n"
        "    def runLoop(self, timestep_ns):\n"
        "        self._setDataPack('nope', 1)\n")
    monkeypatch.chdir(tmp_path)
    host = ScriptHost("python_1", EngineScript)
    host.initialize({"PythonFileName": "engine.py", "TimeRatio": [1, 1_000_000_000]})
    with pytest.raises(DataPackNotRegistered) as raised:
        host.run_loop(10)
    assert host.describe_failure("run_loop", raised.value) == (
        'Engine "python_1": run_loop failed in engine.py, line 5, in runLoop: '
        "DataPackNotRegistered: [python_1] Attempting to set data on an unregistered DataPack (nope)")
    host.close(timeout=1)
    assert ScriptHost("x", EngineScript).describe_failure("initialize", ValueError("bad")) == (
        'Engine "x": initialize failed: ValueError: bad')


class Preparing(EngineScript):
    """Records what it sees in _prepare and initialize."""

    seen: list = []

    def _prepare(self, config):
        Preparing.seen.append(("prepare", self._name, self._config is config, config["Marker"]))

    def initialize(self):
        Preparing.seen.append(("initialize", self._name))

    def runLoop(self, timestep_ns):
        pass


def write_engine(directory, base: str, body: str = "    pass\n") -> None:
    (directory / "engine.py").write_text(
        f"from {__name__} import {base}\n\n"
        f"class Script({base}):\n{body}")


def test_the_host_prepares_the_script_after_naming_it_and_before_initialize(tmp_path, monkeypatch,
                                                                            restore_sys_path):
    write_engine(tmp_path, "Preparing")
    monkeypatch.chdir(tmp_path)
    Preparing.seen = []
    host = ScriptHost("python_1", Preparing)
    host.initialize({"PythonFileName": "engine.py", "TimeRatio": [1, 1_000_000_000], "Marker": 7})

    assert Preparing.seen == [("prepare", "python_1", True, 7), ("initialize", "python_1")]
    host.close(timeout=1)


class FailingPrepare(EngineScript):
    def _prepare(self, config):
        raise FileNotFoundError(f'WorldFileName "{config["WorldFileName"]}": file not found')

    def runLoop(self, timestep_ns):
        pass


def test_a_failing_prepare_fails_initialize_naming_the_script_and_leaves_the_host_uninitialized(
        tmp_path, monkeypatch, restore_sys_path):
    write_engine(tmp_path, "FailingPrepare")
    monkeypatch.chdir(tmp_path)
    host = ScriptHost("sim", FailingPrepare)
    config = {"PythonFileName": "engine.py", "TimeRatio": [1, 1_000_000_000], "WorldFileName": "gone.xml"}
    with pytest.raises(FileNotFoundError) as raised:
        host.initialize(config)

    assert host.describe_failure("initialize", raised.value) == (
        'Engine "sim": initialize failed (script engine.py): FileNotFoundError: '
        'WorldFileName "gone.xml": file not found')
    with pytest.raises(EngineStateError, match="not initialized"):
        host.run_loop(1)
    assert host.close(timeout=1)


def test_the_host_checks_its_own_keys_before_loading_a_script():
    host = ScriptHost("python_1", EngineScript)
    with pytest.raises(ValueError, match="no PythonFileName"):
        host.initialize({"TimeRatio": [1, 1_000_000_000]})
    with pytest.raises(ValueError, match=r"TimeRatio must be \[1, 1000000000\]"):
        host.initialize({"PythonFileName": "engine.py", "TimeRatio": [1, 1000]})
