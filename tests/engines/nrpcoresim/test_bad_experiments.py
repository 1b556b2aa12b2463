"""Broken experiments fail with an error that names the file, line, function or engine at fault,
and leave no engine process behind."""

import json
import os
import sys
import textwrap

import pytest

from engines.nrpcoresim.config import load_simulation_config
from engines.errors import ConfigError, EngineError, FunctionError
from engines.nrpcoresim.lifecycle import SimulationState
from engines.nrpcoresim.manager import SimulationManager
from tests.conftest import EXPERIMENTS, copy_experiment_folder

pytestmark = [pytest.mark.usefixtures("no_leftover_processes"), pytest.mark.timeout(60)]

TF_HEADER = "from nrp_core import *\nfrom nrp_core.data.nrp_json import *\nfrom nrp_core.data.nrp_protobuf import *\n"


@pytest.fixture
def experiment(tmp_path):
    """A copy of tf_exchange that a test may break."""
    target = tmp_path / "tf_exchange"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", target)
    return target


@pytest.fixture
def manager_for(monkeypatch):
    created = []
    devnull = open(os.devnull, "w")

    def build(experiment_dir, config_name="simulation_config.json"):
        monkeypatch.chdir(experiment_dir)
        config = load_simulation_config(experiment_dir / config_name)
        manager = SimulationManager(config, base_dir=experiment_dir, engine_output=devnull)
        created.append(manager)
        return manager

    yield build
    for manager in created:
        manager.teardown()
    devnull.close()


def write_tf(experiment, body, name="tf_1.py"):
    (experiment / name).write_text(TF_HEADER + textwrap.dedent(body))


def edit_config(experiment, change, name="simulation_config.json"):
    path = experiment / name
    config = json.loads(path.read_text())
    change(config)
    path.write_text(json.dumps(config, indent=2))


def initialize_fails(manager, error_type):
    with pytest.raises(error_type) as caught:
        manager.initialize()
    assert manager.state is SimulationState.FAILED
    assert manager.error == str(caught.value)
    return str(caught.value)


def test_syntax_error_in_a_tf_file_names_file_and_line(experiment, manager_for):
    write_tf(experiment, """
        @TransceiverFunction("python_2")
        def transceiver_function(:
            return []
    """)
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "tf_1.py, line 6" in message and "syntax error" in message


def test_tf_naming_an_unknown_engine(experiment, manager_for):
    write_tf(experiment, """
        @TransceiverFunction("python_3")
        def transceiver_function():
            return []
    """)
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "'python_3'" in message and "tf_1.py" in message and "python_1, python_2" in message


def test_tf_requesting_a_datapack_of_an_unknown_engine(experiment, manager_for):
    write_tf(experiment, """
        @EngineDataPack(keyword="dp", id=DataPackIdentifier("datapack1", "nowhere"))
        @TransceiverFunction("python_2")
        def transceiver_function(dp):
            return []
    """)
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "'datapack1'" in message and "'nowhere'" in message


def test_tf_input_keyword_that_is_not_a_parameter(experiment, manager_for):
    write_tf(experiment, """
        @EngineDataPack(keyword="missing", id=DataPackIdentifier("datapack1", "python_1"))
        @TransceiverFunction("python_2")
        def transceiver_function(dp):
            return []
    """)
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "'missing'" in message and "not a parameter" in message


def test_function_file_that_defines_no_datapack_function(experiment, manager_for):
    write_tf(experiment, """
        def transceiver_function():
            return []
    """)
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert message.startswith("tf_1.py: defines no function for 'transceiver_function'")


def test_missing_function_file(experiment, manager_for):
    edit_config(experiment, lambda c: c["DataPackProcessingFunctions"][0].update(FileName="gone.py"))
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "gone.py" in message and "cannot read" in message


def test_function_file_raising_on_import_names_the_line(experiment, manager_for):
    write_tf(experiment, """
        import no_such_module_anywhere
    """)
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "tf_1.py, line 5" in message and "no_such_module_anywhere" in message


def test_preprocessing_function_reading_another_engine(experiment, manager_for):
    write_tf(experiment, """
        @EngineDataPack(keyword="dp", id=DataPackIdentifier("datapack1", "python_1"))
        @PreprocessingFunction("python_2")
        def transceiver_function(dp):
            return []
    """)
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "may only read its own engine" in message


def test_status_function_entry_that_is_not_a_status_function(experiment, manager_for):
    edit_config(experiment, lambda c: c.update(StatusFunction={"Name": "transceiver_function", "FileName": "tf_1.py"}))
    message = initialize_fails(manager_for(experiment), FunctionError)
    assert "not decorated with @StatusFunction()" in message


def test_tf_raising_at_run_time_fails_the_simulation_naming_tf_file_and_line(experiment, manager_for):
    write_tf(experiment, """
        @EngineDataPack(keyword="dp", id=DataPackIdentifier("datapack1", "python_1"))
        @TransceiverFunction("python_2")
        def transceiver_function(dp):
            return [JsonDataPack("rec_datapack2", "python_2", {"x": 1 / 0})]
    """)
    manager = manager_for(experiment)
    manager.initialize()
    with pytest.raises(FunctionError) as caught:
        manager.run_loop(3)
    assert manager.state is SimulationState.FAILED
    message = str(caught.value)
    assert "'transceiver_function'" in message and "tf_1.py, line 8" in message and "ZeroDivisionError" in message


def test_tf_returning_something_else_than_a_list(experiment, manager_for):
    write_tf(experiment, """
        @TransceiverFunction("python_2")
        def transceiver_function():
            return JsonDataPack("rec_datapack2", "python_2")
    """)
    manager = manager_for(experiment)
    manager.initialize()
    with pytest.raises(FunctionError, match="must return a list of datapacks, not JsonDataPack"):
        manager.run_loop(1)


def test_engine_script_raising_in_initialize_names_engine_file_and_line(experiment, manager_for):
    (experiment / "engine_2.py").write_text(textwrap.dedent("""
        from nrp_core.engines.python_json import EngineScript


        class Script(EngineScript):
            def initialize(self):
                raise RuntimeError("no model file")
    """))
    message = initialize_fails(manager_for(experiment), EngineError)
    assert 'Engine "python_2"' in message and "engine_2.py" in message and "line 7" in message
    assert "no model file" in message


def test_engine_script_with_a_syntax_error(experiment, manager_for):
    (experiment / "engine_1.py").write_text("class Script(EngineScript:\n    pass\n")
    message = initialize_fails(manager_for(experiment), EngineError)
    assert 'Engine "python_1"' in message and "engine_1.py" in message and "line 1" in message


def test_protobuf_datapack_of_a_package_the_grpc_engine_does_not_take(experiment, manager_for):
    write_tf(experiment, """
        @TransceiverFunction("python_2")
        def transceiver_function():
            dp = WrappersInt32ValueDataPack("rec_datapack2", "python_2")
            dp.data.value = 3
            return [dp]
    """, name="tf_1_grpc.py")
    manager = manager_for(experiment, "simulation_config_grpc.json")
    manager.initialize()
    with pytest.raises(EngineError) as caught:
        manager.run_loop(1)
    message = str(caught.value)
    assert 'Engine "python_2"' in message and "Wrappers.Int32Value" in message and "['Dump']" in message


def test_datapack_of_the_wrong_protobuf_type_is_refused_by_the_engine(experiment, manager_for):
    write_tf(experiment, """
        @TransceiverFunction("python_2")
        def transceiver_function():
            dp = DumpArrayFloatDataPack("rec_datapack2", "python_2")
            dp.data.float_stream.append(1.0)
            return [dp]
    """, name="tf_1_grpc.py")
    manager = manager_for(experiment, "simulation_config_grpc.json")
    manager.initialize()
    with pytest.raises(EngineError) as caught:
        manager.run_loop(2)
    message = str(caught.value)
    assert 'Engine "python_2"' in message and "rec_datapack2" in message and "Dump.String" in message


def test_json_datapack_sent_to_a_grpc_engine(experiment, manager_for):
    write_tf(experiment, """
        @TransceiverFunction("python_2")
        def transceiver_function():
            return [JsonDataPack("rec_datapack2", "python_2")]
    """, name="tf_1_grpc.py")
    manager = manager_for(experiment, "simulation_config_grpc.json")
    manager.initialize()
    with pytest.raises(EngineError, match="'rec_datapack2' is a JSON datapack"):
        manager.run_loop(1)


def test_engine_command_that_does_not_exist(experiment, manager_for):
    edit_config(experiment, lambda c: c["EngineConfigs"][0].update(EngineProcCmd="no-such-engine-binary"))
    message = initialize_fails(manager_for(experiment), EngineError)
    assert 'Engine "python_1"' in message and "no-such-engine-binary" in message


def test_engine_process_that_exits_at_once(experiment, manager_for):
    edit_config(experiment, lambda c: c["EngineConfigs"][1].update(EngineProcCmd=f"{sys.executable} -c 'exit(3)'"))
    message = initialize_fails(manager_for(experiment), EngineError)
    assert 'Engine "python_2"' in message and "exited with status 3" in message


def test_unsupported_simulation_loop(experiment, manager_for):
    edit_config(experiment, lambda c: c.update(SimulationLoop="EventLoop"))
    message = initialize_fails(manager_for(experiment), ConfigError)
    assert "SimulationLoop" in message and "EventLoop" in message


HANGING_JSON_ENGINE = """
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("rec_datapack2")

    def runLoop(self, timestep_ns):
        if self._time_ns > 30_000_000:
            time.sleep(30)
            open("slept_through", "w").close()  # only if nobody ends the engine meanwhile
"""

HANGING_GRPC_ENGINE = """
import time
from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2


class Script(GrpcEngineScript):
    def initialize(self):
        self._registerDataPack("rec_datapack2", dump_pb2.String)

    def runLoop(self, timestep_ns):
        if self._time_ns > 30_000_000:
            time.sleep(30)
            open("slept_through", "w").close()  # only if nobody ends the engine meanwhile
"""


@pytest.mark.parametrize("config_name, engine_file, source", [
    ("simulation_config.json", "engine_2.py", HANGING_JSON_ENGINE),
    ("simulation_config_grpc.json", "engine_grpc_2.py", HANGING_GRPC_ENGINE)])
def test_an_engine_exceeding_its_command_timeout_fails_the_run_and_is_stopped_at_once(
        experiment, manager_for, config_name, engine_file, source):
    (experiment / engine_file).write_text(source)
    edit_config(experiment, lambda c: c["EngineConfigs"][1].update(EngineCommandTimeout=0.3), name=config_name)
    manager = manager_for(experiment, config_name)
    manager.initialize()

    with pytest.raises(EngineError) as caught:
        manager.run_loop(10)
    assert 'Engine "python_2"' in str(caught.value) and "too long" in str(caught.value)
    assert manager.state is SimulationState.FAILED

    manager.shutdown()
    # At once: the engine was ended inside its hung runLoop, which never got to its end.
    assert not (experiment / "slept_through").exists()
