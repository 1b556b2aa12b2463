"""The engine's config defaults and its data-file lines (nrp-core's format)."""

from pathlib import Path

import pytest

from engines.servers.datatransfer.config import DataTransferConfig, DataTransferConfigError, Dump
from engines.servers.datatransfer.file_format import DataFileFormat
from nrp_protobuf import dump_pb2, gazebo_pb2, nrpgenericproto_pb2, wrappers_pb2


def test_an_empty_config_gets_nrp_cores_defaults():
    config = DataTransferConfig.from_engine_config({})
    assert config == DataTransferConfig(broker="localhost:1883", prefix="", simulation_id="0",
                                        data_directory=Path("data"), stream_datapack_message=True, dumps=())


def test_dumps_default_to_no_destination_and_a_numeric_simulation_id_is_read_as_text():
    config = DataTransferConfig.from_engine_config({"simulationID": 3, "dumps": [{"name": "a"}, {"name": "b",
                                                                                              "file": True}]})
    assert config.simulation_id == "3"
    assert config.dumps == (Dump("a", False, False), Dump("b", False, True))
    assert config.file_dumps == (Dump("b", False, True),) and config.network_dumps == ()


@pytest.mark.parametrize("config, message", [
    ({"dataDirectory": ""}, "dataDirectory: must not be empty"),
    ({"MQTTBroker": 1883}, "MQTTBroker: must be a string, got 1883"),
    ({"simulationID": None}, "simulationID: must be a string, got None"),
    ({"dumps": [{"name": "a/b", "file": True}]}, "dumps[0].name: MQTT datapack name 'a/b' contains '/'"),
    ({"dumps": ["a"]}, "dumps[0]: must be an object"),
    ("[]", "<config>: the engine config must be a JSON object"),
])
def test_config_errors_name_the_key(config, message):
    with pytest.raises(DataTransferConfigError) as refused:
        DataTransferConfig.from_engine_config(config)
    assert str(refused.value).startswith(message)


def test_dump_string_and_array_float_lines_follow_nrp_core():
    lines = DataFileFormat()
    assert lines.lines(dump_pb2.String(string_stream="hello"), 0.25) == ["0.250000,hello"]
    assert lines.lines(dump_pb2.ArrayFloat(float_stream=[1, 2.5]), 1.0) == ["1.000000,0,1.000000,2.500000"]
    # Two dims are rows and columns: one line per row, each led by its index; extra values are cut.
    matrix = dump_pb2.ArrayFloat(float_stream=[1, 2, 3, 4, 5], dims=[2, 2])
    assert lines.lines(matrix, 0.5) == ["0.500000,\n0,1.000000,2.000000\n1,3.000000,4.000000"]


def test_other_messages_get_a_header_once_then_one_line_each():
    lines = DataFileFormat()
    joint = gazebo_pb2.Joint(position=1.5, velocity=-2.0, effort=0.0)
    assert lines.lines(joint, 0.01) == ["sim_time,position,velocity,effort", "0.01,1.5,-2.0,0.0"]
    assert lines.lines(joint, 0.02) == ["0.02,1.5,-2.0,0.0"]
    assert DataFileFormat().lines(wrappers_pb2.BoolValue(value=True), 0) == ["sim_time,value", "0,1"]
    # Repeated fields, which nrp-core cannot log, and bytes fields, which it writes raw.
    array = nrpgenericproto_pb2.ArrayInt32(array=[1, 2, 3], shape=[3])
    assert DataFileFormat().lines(array, 0)[1] == "0,1 2 3,3"
    assert DataFileFormat().lines(wrappers_pb2.BytesValue(value=b"abc"), 0)[1] == "0,<3 bytes>"
