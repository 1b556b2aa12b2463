from google.protobuf import any_pb2 as _any_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DataPackMessage(_message.Message):
    __slots__ = ("dataPackId", "data")
    DATAPACKID_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dataPackId: DataPackIdentifier
    data: _any_pb2.Any
    def __init__(self, dataPackId: _Optional[_Union[DataPackIdentifier, _Mapping]] = ..., data: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class DataPackIdentifier(_message.Message):
    __slots__ = ("dataPackName", "dataPackType", "engineName")
    DATAPACKNAME_FIELD_NUMBER: _ClassVar[int]
    DATAPACKTYPE_FIELD_NUMBER: _ClassVar[int]
    ENGINENAME_FIELD_NUMBER: _ClassVar[int]
    dataPackName: str
    dataPackType: str
    engineName: str
    def __init__(self, dataPackName: _Optional[str] = ..., dataPackType: _Optional[str] = ..., engineName: _Optional[str] = ...) -> None: ...

class InitializeRequest(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class InitializeReply(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class ShutdownRequest(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class ShutdownReply(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class RunLoopStepRequest(_message.Message):
    __slots__ = ("timeStep",)
    TIMESTEP_FIELD_NUMBER: _ClassVar[int]
    timeStep: int
    def __init__(self, timeStep: _Optional[int] = ...) -> None: ...

class RunLoopStepReply(_message.Message):
    __slots__ = ("engineTime",)
    ENGINETIME_FIELD_NUMBER: _ClassVar[int]
    engineTime: int
    def __init__(self, engineTime: _Optional[int] = ...) -> None: ...

class SetDataPacksRequest(_message.Message):
    __slots__ = ("dataPacks",)
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    dataPacks: _containers.RepeatedCompositeFieldContainer[DataPackMessage]
    def __init__(self, dataPacks: _Optional[_Iterable[_Union[DataPackMessage, _Mapping]]] = ...) -> None: ...

class SetDataPacksReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetDataPacksRequest(_message.Message):
    __slots__ = ("datapackIds",)
    DATAPACKIDS_FIELD_NUMBER: _ClassVar[int]
    datapackIds: _containers.RepeatedCompositeFieldContainer[DataPackIdentifier]
    def __init__(self, datapackIds: _Optional[_Iterable[_Union[DataPackIdentifier, _Mapping]]] = ...) -> None: ...

class GetDataPacksReply(_message.Message):
    __slots__ = ("dataPacks",)
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    dataPacks: _containers.RepeatedCompositeFieldContainer[DataPackMessage]
    def __init__(self, dataPacks: _Optional[_Iterable[_Union[DataPackMessage, _Mapping]]] = ...) -> None: ...

class ResetRequest(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...

class ResetReply(_message.Message):
    __slots__ = ("json",)
    JSON_FIELD_NUMBER: _ClassVar[int]
    json: str
    def __init__(self, json: _Optional[str] = ...) -> None: ...
