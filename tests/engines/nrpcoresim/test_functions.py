"""How config entries bind to functions: by what the file's decorator registers, not by Python name.

nrp-core executes the file of each `DataPackProcessingFunctions` / `StatusFunction` entry; the one
function a function decorator registers while the file runs becomes the entry's function, known by
the entry's `Name`. Its examples rely on it: tf_exchange's entry `tf_1` names a function called
`transceiver_function`, and mujoco_control's two files both define `transceiver_function`.
"""

import pathlib
import textwrap

import pytest

import nrp_core
from engines.errors import FunctionError
from engines.nrpcoresim.functions import FunctionEntry, FunctionKind, TransceiverFunction, load_functions

HEADER = "from nrp_core import *\nfrom nrp_core.data.nrp_json import *\n"
ENGINES = {"engine_a", "engine_b"}


def write(directory: pathlib.Path, name: str, body: str) -> None:
    (directory / name).write_text(HEADER + textwrap.dedent(body))


def load(directory: pathlib.Path, *entries: FunctionEntry):
    namespace = {"__builtins__": __builtins__, **{name: getattr(nrp_core, name) for name in nrp_core.__all__}}
    return load_functions(list(entries), ENGINES, namespace=namespace, base_dir=directory)


def test_an_entry_takes_the_function_its_file_registers_whatever_its_python_name(tmp_path):
    write(tmp_path, "tf_1.py", """
        @TransceiverFunction("engine_b")
        def transceiver_function():
            return []
    """)
    [function] = load(tmp_path, FunctionEntry("tf_1", "tf_1.py"))
    assert function.name == "tf_1"
    assert function.function.__name__ == "transceiver_function"
    assert function.file == "tf_1.py" and function.line == 4


def test_two_files_may_define_functions_of_the_same_name(tmp_path):
    for file, engine in (("send_cmd.py", "engine_a"), ("rec_pos.py", "engine_b")):
        write(tmp_path, file, f"""
            @TransceiverFunction("{engine}")
            def transceiver_function():
                return ["{file}"]
        """)
    sending, receiving = load(tmp_path, FunctionEntry("send_cmd", "send_cmd.py"), FunctionEntry("rec_pos", "rec_pos.py"))
    assert (sending.name, sending.engine_name, sending()) == ("send_cmd", "engine_a", ["send_cmd.py"])
    assert (receiving.name, receiving.engine_name, receiving()) == ("rec_pos", "engine_b", ["rec_pos.py"])


def test_a_status_function_is_known_by_its_entry_name(tmp_path):
    write(tmp_path, "status.py", """
        @StatusFunction()
        def whatever_it_is_called():
            return False, []
    """)
    [function] = load(tmp_path, FunctionEntry("status_function", "status.py", status=True))
    assert function.kind is FunctionKind.STATUS and function.name == "status_function"


def test_outer_input_decorators_reach_the_registered_function(tmp_path):
    write(tmp_path, "tf.py", """
        @EngineDataPack(keyword="seen", id=DataPackIdentifier("datapack1", "engine_a"))
        @TransceiverFunction("engine_b")
        def relay(seen):
            return []
    """)
    [function] = load(tmp_path, FunctionEntry("tf", "tf.py"))
    assert [identifier.key() for identifier in function.engine_requests()] == [("datapack1", "engine_a")]


def test_one_file_listed_twice_gives_two_functions(tmp_path):
    write(tmp_path, "tf.py", """
        @TransceiverFunction("engine_a")
        def relay():
            return []
    """)
    first, second = load(tmp_path, FunctionEntry("first", "tf.py"), FunctionEntry("second", "tf.py"))
    assert (first.name, second.name) == ("first", "second") and first is not second


def test_the_file_of_an_inactive_entry_is_not_executed(tmp_path):
    (tmp_path / "off.py").write_text("raise SystemError('must not run')\n")
    assert load(tmp_path, FunctionEntry("off", "off.py", is_active=False)) == []


def test_a_file_that_registers_no_function_is_named(tmp_path):
    write(tmp_path, "plain.py", """
        def transceiver_function():
            return []
    """)
    with pytest.raises(FunctionError, match=r"^plain\.py: defines no function for 'tf_1': decorate one with "
                                            r"@TransceiverFunction or @PreprocessingFunction$"):
        load(tmp_path, FunctionEntry("tf_1", "plain.py"))


def test_a_file_that_registers_two_functions_is_named_with_both(tmp_path):
    write(tmp_path, "two.py", """
        @TransceiverFunction("engine_a")
        def one():
            return []

        @TransceiverFunction("engine_b")
        def two():
            return []
    """)
    with pytest.raises(FunctionError) as caught:
        load(tmp_path, FunctionEntry("tf_1", "two.py"))
    assert str(caught.value) == ("two.py: defines 2 datapack functions ('one' (line 4), 'two' (line 8)); "
                                 "the file of 'tf_1' must define exactly one")
    assert (caught.value.file, caught.value.line) == ("two.py", 8)


def test_two_entries_with_one_name_are_refused(tmp_path):
    write(tmp_path, "tf.py", """
        @TransceiverFunction("engine_a")
        def relay():
            return []
    """)
    with pytest.raises(FunctionError, match="'tf' is already listed in DataPackProcessingFunctions"):
        load(tmp_path, FunctionEntry("tf", "tf.py"), FunctionEntry("tf", "tf.py"))


def test_a_transceiver_function_listed_as_status_function_is_refused(tmp_path):
    write(tmp_path, "tf.py", """
        @TransceiverFunction("engine_a")
        def relay():
            return []
    """)
    with pytest.raises(FunctionError, match=r"tf\.py, line 4: TransceiverFunction 'sf': is listed "
                                            r"as StatusFunction but is not decorated with @StatusFunction"):
        load(tmp_path, FunctionEntry("sf", "tf.py", status=True))


def test_a_function_defined_in_a_helper_module_is_named_by_that_module(tmp_path):
    write(tmp_path, "helper_tfs.py", """
        @TransceiverFunction("engine_a")
        def relay():
            return []
    """)
    (tmp_path / "tf.py").write_text("from helper_tfs import relay\n")
    [function] = load(tmp_path, FunctionEntry("tf", "tf.py"))
    assert function.file == "helper_tfs.py"


def test_functions_decorated_outside_of_loading_are_not_taken_by_the_next_file(tmp_path):
    @TransceiverFunction("engine_a")
    def decorated_in_a_notebook():
        return []

    write(tmp_path, "tf.py", """
        @TransceiverFunction("engine_b")
        def relay():
            return []
    """)
    [function] = load(tmp_path, FunctionEntry("tf", "tf.py"))
    assert function.function.__name__ == "relay"
