"""The decoding of streamed datapacks (what the datatransfer engine publishes) into series and images."""

import base64

import pytest

from engines.mqtt.samples import MAX_ELEMENTS, UndecodablePayload, decode
from nrp_protobuf import dump_pb2, engine_grpc_pb2, gazebo_pb2, nrpgenericproto_pb2, wrappers_pb2


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
