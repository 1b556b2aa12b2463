from . import nrp_server_pb2 as _nrp_server_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SteerRequest(_message.Message):
    __slots__ = ("ticket", "dataPacks")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    ticket: int
    dataPacks: _nrp_server_pb2.DataPacks
    def __init__(self, ticket: _Optional[int] = ..., dataPacks: _Optional[_Union[_nrp_server_pb2.DataPacks, _Mapping]] = ...) -> None: ...

class SteerReply(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReadRequest(_message.Message):
    __slots__ = ("engineName", "dataPackName")
    ENGINENAME_FIELD_NUMBER: _ClassVar[int]
    DATAPACKNAME_FIELD_NUMBER: _ClassVar[int]
    engineName: str
    dataPackName: str
    def __init__(self, engineName: _Optional[str] = ..., dataPackName: _Optional[str] = ...) -> None: ...

class ReadReply(_message.Message):
    __slots__ = ("dataPacks", "empty")
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    EMPTY_FIELD_NUMBER: _ClassVar[int]
    dataPacks: _nrp_server_pb2.DataPacks
    empty: bool
    def __init__(self, dataPacks: _Optional[_Union[_nrp_server_pb2.DataPacks, _Mapping]] = ..., empty: _Optional[bool] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class SteeringOutcome(_message.Message):
    __slots__ = ("ticket", "engineName", "dataPackName", "applied", "timeNs", "iteration", "error", "missing")
    TICKET_FIELD_NUMBER: _ClassVar[int]
    ENGINENAME_FIELD_NUMBER: _ClassVar[int]
    DATAPACKNAME_FIELD_NUMBER: _ClassVar[int]
    APPLIED_FIELD_NUMBER: _ClassVar[int]
    TIMENS_FIELD_NUMBER: _ClassVar[int]
    ITERATION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    ticket: int
    engineName: str
    dataPackName: str
    applied: bool
    timeNs: int
    iteration: int
    error: str
    missing: bool
    def __init__(self, ticket: _Optional[int] = ..., engineName: _Optional[str] = ..., dataPackName: _Optional[str] = ..., applied: _Optional[bool] = ..., timeNs: _Optional[int] = ..., iteration: _Optional[int] = ..., error: _Optional[str] = ..., missing: _Optional[bool] = ...) -> None: ...
