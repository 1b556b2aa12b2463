from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class String(_message.Message):
    __slots__ = ("string_stream",)
    STRING_STREAM_FIELD_NUMBER: _ClassVar[int]
    string_stream: str
    def __init__(self, string_stream: _Optional[str] = ...) -> None: ...

class ArrayFloat(_message.Message):
    __slots__ = ("float_stream", "dims")
    FLOAT_STREAM_FIELD_NUMBER: _ClassVar[int]
    DIMS_FIELD_NUMBER: _ClassVar[int]
    float_stream: _containers.RepeatedScalarFieldContainer[float]
    dims: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, float_stream: _Optional[_Iterable[float]] = ..., dims: _Optional[_Iterable[int]] = ...) -> None: ...
