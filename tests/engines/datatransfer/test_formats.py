"""The engine's config defaults, its data-file lines (nrp-core's format) and the decoding of streamed
datapacks into series and images."""

import base64
from pathlib import Path

import pytest

from engines.servers.datatransfer.config import DataTransferConfig, DataTransferConfigError, Dump
from engines.servers.datatransfer.file_format import DataFileFormat
from engines.mqtt.samples import MAX_ELEMENTS, UndecodablePayload, decode
from nrp_protobuf import dump_pb2, engine_grpc_pb2, gazebo_pb2, nrpgenericproto_pb2, wrappers_pb2


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


def envelope(payload) -> bytes:
    message = engine_grpc_pb2.DataPackMessage()
    message.dataPackId.dataPackName = "x"
    message.data.Pack(payload)
    return message.SerializeToString()


def test_series_of_scalars_arrays_and_bools():
    assert decode(envelope(gazebo_pb2.Joint(position=1.5, velocity=2)), None).series == {
        "position": 1.5, "velocity": 2.0, "effort": 0.0}
    array = decode(envelope(nrpgenericproto_pb2.ArrayDouble(array=range(40), shape=[40])), "")
    assert array.type == "NrpGenericProto.ArrayDouble"
    assert array.series == {f"array[{i}]": float(i) for i in range(MAX_ELEMENTS)}  # shape is layout, not data
    assert decode(dump_pb2.ArrayFloat(float_stream=[0.5], dims=[1]).SerializeToString(),
                  "Dump.ArrayFloat").series == {"float_stream[0]": 0.5}
    assert decode(envelope(wrappers_pb2.BoolValue(value=True)), None).series == {"value": 1.0}
    assert decode(envelope(wrappers_pb2.StringValue(value="1.0")), None).series == {}
    assert decode(envelope(wrappers_pb2.DoubleValue(value=float("nan"))), None).series == {}


def test_images_rgb_mono_padded_and_unsupported():
    rgb = nrpgenericproto_pb2.Image(width=2, height=1, step=6, type=nrpgenericproto_pb2.RGB8, data=bytes(range(6)))
    decoded = decode(envelope(rgb), None)
    assert decoded.series == {}
    assert decoded.image == {"width": 2, "height": 1, "encoding": "rgb8",
                             "data": base64.b64encode(bytes(range(6))).decode()}
    padded = nrpgenericproto_pb2.Image(width=1, height=2, step=4, type=nrpgenericproto_pb2.MONO8,
                                       data=b"a...b...")
    assert base64.b64decode(decode(envelope(padded), None).image["data"]) == b"ab"
    camera = gazebo_pb2.Camera(imageWidth=1, imageHeight=1, imageDepth=3, imageData=b"rgb")
    assert decode(envelope(camera), None).image["encoding"] == "rgb8"
    short = gazebo_pb2.Camera(imageWidth=2, imageHeight=2, imageDepth=3, imageData=b"rgb")
    assert decode(envelope(short), None).image is None
    bgr = nrpgenericproto_pb2.Image(width=1, height=1, type=nrpgenericproto_pb2.BGR16, data=b"123456")
    assert decode(envelope(bgr), None).image is None


@pytest.mark.parametrize("payload, wire_type, reason", [
    (b"\xff\xff\xff", None, "not a DataPackMessage"),
    (engine_grpc_pb2.DataPackMessage().SerializeToString(), None, "a DataPackMessage without data"),
    (b"\x08\x01", "Nobody.Knows", "unknown protobuf type 'Nobody.Knows'"),
    (b"\xff\xff", "Wrappers.DoubleValue", "not a Wrappers.DoubleValue"),
])
def test_undecodable_payloads_say_why(payload, wire_type, reason):
    with pytest.raises(UndecodablePayload, match=reason):
        decode(payload, wire_type)
