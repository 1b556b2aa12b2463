from google.protobuf import any_pb2 as _any_pb2
from . import engine_grpc_pb2 as _engine_grpc_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EmptyMessage(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class JsonMessage(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: str
    def __init__(self, data: _Optional[str] = ...) -> None: ...

class SimStateMessage(_message.Message):
    __slots__ = ("currentState", "errorMsg")
    CURRENTSTATE_FIELD_NUMBER: _ClassVar[int]
    ERRORMSG_FIELD_NUMBER: _ClassVar[int]
    currentState: str
    errorMsg: str
    def __init__(self, currentState: _Optional[str] = ..., errorMsg: _Optional[str] = ...) -> None: ...

class Response(_message.Message):
    __slots__ = ("simState",)
    SIMSTATE_FIELD_NUMBER: _ClassVar[int]
    simState: SimStateMessage
    def __init__(self, simState: _Optional[_Union[SimStateMessage, _Mapping]] = ...) -> None: ...

class TrajectoryMessage(_message.Message):
    __slots__ = ("dataIndex", "data")
    DATAINDEX_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    dataIndex: int
    data: _any_pb2.Any
    def __init__(self, dataIndex: _Optional[int] = ..., data: _Optional[_Union[_any_pb2.Any, _Mapping]] = ...) -> None: ...

class Trajectory(_message.Message):
    __slots__ = ("jsonTrajectoryMessages", "protoTrajectoryMessages")
    JSONTRAJECTORYMESSAGES_FIELD_NUMBER: _ClassVar[int]
    PROTOTRAJECTORYMESSAGES_FIELD_NUMBER: _ClassVar[int]
    jsonTrajectoryMessages: _containers.RepeatedCompositeFieldContainer[TrajectoryMessage]
    protoTrajectoryMessages: _containers.RepeatedCompositeFieldContainer[TrajectoryMessage]
    def __init__(self, jsonTrajectoryMessages: _Optional[_Iterable[_Union[TrajectoryMessage, _Mapping]]] = ..., protoTrajectoryMessages: _Optional[_Iterable[_Union[TrajectoryMessage, _Mapping]]] = ...) -> None: ...

class InitializeResponse(_message.Message):
    __slots__ = ("simState", "trajectory")
    SIMSTATE_FIELD_NUMBER: _ClassVar[int]
    TRAJECTORY_FIELD_NUMBER: _ClassVar[int]
    simState: SimStateMessage
    trajectory: Trajectory
    def __init__(self, simState: _Optional[_Union[SimStateMessage, _Mapping]] = ..., trajectory: _Optional[_Union[Trajectory, _Mapping]] = ...) -> None: ...

class DataPacks(_message.Message):
    __slots__ = ("jsonDataPacks", "protoDataPacks")
    JSONDATAPACKS_FIELD_NUMBER: _ClassVar[int]
    PROTODATAPACKS_FIELD_NUMBER: _ClassVar[int]
    jsonDataPacks: _containers.RepeatedCompositeFieldContainer[_engine_grpc_pb2.DataPackMessage]
    protoDataPacks: _containers.RepeatedCompositeFieldContainer[_engine_grpc_pb2.DataPackMessage]
    def __init__(self, jsonDataPacks: _Optional[_Iterable[_Union[_engine_grpc_pb2.DataPackMessage, _Mapping]]] = ..., protoDataPacks: _Optional[_Iterable[_Union[_engine_grpc_pb2.DataPackMessage, _Mapping]]] = ...) -> None: ...

class RunLoopResponse(_message.Message):
    __slots__ = ("simState", "doneFlag", "timeoutFlag", "trajectory")
    SIMSTATE_FIELD_NUMBER: _ClassVar[int]
    DONEFLAG_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTFLAG_FIELD_NUMBER: _ClassVar[int]
    TRAJECTORY_FIELD_NUMBER: _ClassVar[int]
    simState: SimStateMessage
    doneFlag: bool
    timeoutFlag: bool
    trajectory: Trajectory
    def __init__(self, simState: _Optional[_Union[SimStateMessage, _Mapping]] = ..., doneFlag: _Optional[bool] = ..., timeoutFlag: _Optional[bool] = ..., trajectory: _Optional[_Union[Trajectory, _Mapping]] = ...) -> None: ...

class RunLoopMessage(_message.Message):
    __slots__ = ("numIterations", "dataPacks")
    NUMITERATIONS_FIELD_NUMBER: _ClassVar[int]
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    numIterations: int
    dataPacks: DataPacks
    def __init__(self, numIterations: _Optional[int] = ..., dataPacks: _Optional[_Union[DataPacks, _Mapping]] = ...) -> None: ...

class ResetMessage(_message.Message):
    __slots__ = ("dataPacks",)
    DATAPACKS_FIELD_NUMBER: _ClassVar[int]
    dataPacks: DataPacks
    def __init__(self, dataPacks: _Optional[_Union[DataPacks, _Mapping]] = ...) -> None: ...

class ResetResponse(_message.Message):
    __slots__ = ("simState", "trajectory")
    SIMSTATE_FIELD_NUMBER: _ClassVar[int]
    TRAJECTORY_FIELD_NUMBER: _ClassVar[int]
    simState: SimStateMessage
    trajectory: Trajectory
    def __init__(self, simState: _Optional[_Union[SimStateMessage, _Mapping]] = ..., trajectory: _Optional[_Union[Trajectory, _Mapping]] = ...) -> None: ...
