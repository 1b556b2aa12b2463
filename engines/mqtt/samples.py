"""What a streamed datapack says in numbers: its series and, for camera images, the image.

This is the decoding behind the server's datapack stream (nrp_jupyter/server/data_bridge.py): a payload
from `[prefix/]nrp_simulation/<id>/data/<datapack>` becomes

    series  {name: float}: scalar numeric fields by field name (`value`, `position`), repeated
            numeric fields as `name[i]` for their first MAX_ELEMENTS elements, bool as 0/1; strings,
            bytes, nested messages and non-finite floats are left out, and so are the layout fields
            `shape` (NrpGenericProto arrays) and `dims` (Dump.ArrayFloat)
    image   {"width", "height", "encoding": "rgb8"|"mono8", "data": <base64>} for an
            NrpGenericProto.Image (RGB8, MONO8) or a Gazebo.Camera (depth 3 or 1); images carry no
            series
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message

from engines.datapacks import load_payload_modules, message_class_for
from nrp_protobuf import engine_grpc_pb2

MAX_ELEMENTS = 16
DATAPACK_MESSAGE_TYPE = engine_grpc_pb2.DataPackMessage.DESCRIPTOR.full_name
_LAYOUT_FIELDS = {"shape", "dims"}
_NUMERIC = {
    FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_INT32, FieldDescriptor.TYPE_FIXED64,
    FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_SFIXED64, FieldDescriptor.TYPE_SINT32, FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_BOOL, FieldDescriptor.TYPE_ENUM,
}
# NrpGenericProto.IMAGE_TYPE values with a browser-friendly layout.
_IMAGE_ENCODINGS = {1: "rgb8", 7: "mono8"}
_CAMERA_ENCODINGS = {3: "rgb8", 1: "mono8"}


class UndecodablePayload(ValueError):
    """A payload on a data topic that is not what its type says, or of no known type."""


@dataclass(frozen=True)
class DecodedDataPack:
    type: str
    series: dict[str, float]
    image: dict | None


def decode(payload: bytes, wire_type: str | None) -> DecodedDataPack:
    """Decode a data topic's payload; `wire_type` is the type the topic index gives for it (None or
    "" if unknown, in which case a DataPackMessage is assumed: the engine's default)."""
    load_payload_modules()
    if not wire_type or wire_type == DATAPACK_MESSAGE_TYPE:
        envelope = engine_grpc_pb2.DataPackMessage()
        try:
            envelope.ParseFromString(payload)
        except DecodeError as err:
            raise UndecodablePayload(f"not a DataPackMessage: {err}") from None
        if not envelope.HasField("data"):
            raise UndecodablePayload("a DataPackMessage without data")
        wire_type, payload = envelope.data.TypeName(), envelope.data.value
    try:
        message = message_class_for(wire_type)()
    except KeyError:
        raise UndecodablePayload(f"unknown protobuf type {wire_type!r}") from None
    try:
        message.ParseFromString(payload)
    except DecodeError as err:
        raise UndecodablePayload(f"not a {wire_type}: {err}") from None
    image = image_of(message)
    return DecodedDataPack(wire_type, {} if image is not None else series_of(message), image)


def series_of(message: Message) -> dict[str, float]:
    series: dict[str, float] = {}
    for field in message.DESCRIPTOR.fields:
        if field.type not in _NUMERIC or field.name in _LAYOUT_FIELDS:
            continue
        value = getattr(message, field.name)
        if field.is_repeated:
            for index, item in enumerate(value[:MAX_ELEMENTS]):
                _put(series, f"{field.name}[{index}]", item)
        else:
            _put(series, field.name, value)
    return series


def _put(series: dict[str, float], name: str, value) -> None:
    number = float(value)
    if math.isfinite(number):  # JSON has no NaN or Infinity
        series[name] = number


def image_of(message: Message) -> dict | None:
    type_name = message.DESCRIPTOR.full_name
    if type_name == "NrpGenericProto.Image":
        encoding = _IMAGE_ENCODINGS.get(message.type)
        width, height, step, data = message.width, message.height, message.step, message.data
    elif type_name == "Gazebo.Camera":
        encoding = _CAMERA_ENCODINGS.get(message.imageDepth)
        width, height, step, data = message.imageWidth, message.imageHeight, 0, message.imageData
    else:
        return None
    if encoding is None:
        return None
    row = width * (3 if encoding == "rgb8" else 1)
    step = step or row  # an Image's rows may be padded to `step` bytes
    if step < row or len(data) < step * (height - 1) + row:
        return None
    pixels = data[:row * height] if step == row else b"".join(
        data[index * step:index * step + row] for index in range(height))
    return {"width": width, "height": height, "encoding": encoding,
            "data": base64.b64encode(pixels).decode("ascii")}
