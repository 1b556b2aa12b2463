from . import engine_grpc_pb2 as _engine_grpc_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class StepRequest(_message.Message):
    __slots__ = ("dataPacks", "timeStep", "datapackIds")
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    TIMESTEP_FIELD_NUMBER: _ClassVar[int]
    DATAPACKIDS_FIELD_NUMBER: _ClassVar[int]
    dataPacks: _containers.RepeatedCompositeFieldContainer[_engine_grpc_pb2.DataPackMessage]
    timeStep: int
    datapackIds: _containers.RepeatedCompositeFieldContainer[_engine_grpc_pb2.DataPackIdentifier]
    def __init__(self, dataPacks: _Optional[_Iterable[_Union[_engine_grpc_pb2.DataPackMessage, _Mapping]]] = ..., timeStep: _Optional[int] = ..., datapackIds: _Optional[_Iterable[_Union[_engine_grpc_pb2.DataPackIdentifier, _Mapping]]] = ...) -> None: ...

class StepReply(_message.Message):
    __slots__ = ("engineTime", "dataPacks")
    ENGINETIME_FIELD_NUMBER: _ClassVar[int]
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    engineTime: int
    dataPacks: _containers.RepeatedCompositeFieldContainer[_engine_grpc_pb2.DataPackMessage]
    def __init__(self, engineTime: _Optional[int] = ..., dataPacks: _Optional[_Iterable[_Union[_engine_grpc_pb2.DataPackMessage, _Mapping]]] = ...) -> None: ...
