from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class IMAGE_TYPE(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    OTHER: _ClassVar[IMAGE_TYPE]
    RGB8: _ClassVar[IMAGE_TYPE]
    RGBA8: _ClassVar[IMAGE_TYPE]
    RGB16: _ClassVar[IMAGE_TYPE]
    RGBA16: _ClassVar[IMAGE_TYPE]
    BGR16: _ClassVar[IMAGE_TYPE]
    BGRA16: _ClassVar[IMAGE_TYPE]
    MONO8: _ClassVar[IMAGE_TYPE]
    MONO16: _ClassVar[IMAGE_TYPE]
    BAYER_RGGB8: _ClassVar[IMAGE_TYPE]
    BAYER_BGGR8: _ClassVar[IMAGE_TYPE]
    BAYER_GBRG8: _ClassVar[IMAGE_TYPE]
    BAYER_GRBG8: _ClassVar[IMAGE_TYPE]
    BAYER_RGGB16: _ClassVar[IMAGE_TYPE]
    BAYER_BGGR16: _ClassVar[IMAGE_TYPE]
    BAYER_GBRG16: _ClassVar[IMAGE_TYPE]
    BAYER_GRBG16: _ClassVar[IMAGE_TYPE]
OTHER: IMAGE_TYPE
RGB8: IMAGE_TYPE
RGBA8: IMAGE_TYPE
RGB16: IMAGE_TYPE
RGBA16: IMAGE_TYPE
BGR16: IMAGE_TYPE
BGRA16: IMAGE_TYPE
MONO8: IMAGE_TYPE
MONO16: IMAGE_TYPE
BAYER_RGGB8: IMAGE_TYPE
BAYER_BGGR8: IMAGE_TYPE
BAYER_GBRG8: IMAGE_TYPE
BAYER_GRBG8: IMAGE_TYPE
BAYER_RGGB16: IMAGE_TYPE
BAYER_BGGR16: IMAGE_TYPE
BAYER_GBRG16: IMAGE_TYPE
BAYER_GRBG16: IMAGE_TYPE

class ArrayString(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[str]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[str]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayBytes(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[bytes]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[bytes]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayFloat(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[float]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[float]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayDouble(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[float]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[float]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayInt32(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[int]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayInt64(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[int]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArraySInt32(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[int]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArraySInt64(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[int]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayUInt32(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[int]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayUInt64(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[int]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[int]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class ArrayBool(_message.Message):
    __slots__ = ("array", "shape")
    ARRAY_FIELD_NUMBER: _ClassVar[int]
    SHAPE_FIELD_NUMBER: _ClassVar[int]
    array: _containers.RepeatedScalarFieldContainer[bool]
    shape: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, array: _Optional[_Iterable[bool]] = ..., shape: _Optional[_Iterable[int]] = ...) -> None: ...

class Image(_message.Message):
    __slots__ = ("height", "width", "step", "type", "isBigEndian", "data")
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    ISBIGENDIAN_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    height: int
    width: int
    step: int
    type: IMAGE_TYPE
    isBigEndian: bool
    data: bytes
    def __init__(self, height: _Optional[int] = ..., width: _Optional[int] = ..., step: _Optional[int] = ..., type: _Optional[_Union[IMAGE_TYPE, str]] = ..., isBigEndian: _Optional[bool] = ..., data: _Optional[bytes] = ...) -> None: ...
