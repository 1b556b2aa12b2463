from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class Spikes(_message.Message):
    __slots__ = ("spikes_time", "neuron_indexes")
    SPIKES_TIME_FIELD_NUMBER: _ClassVar[int]
    NEURON_INDEXES_FIELD_NUMBER: _ClassVar[int]
    spikes_time: _containers.RepeatedScalarFieldContainer[float]
    neuron_indexes: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, spikes_time: _Optional[_Iterable[float]] = ..., neuron_indexes: _Optional[_Iterable[int]] = ...) -> None: ...

class Currents(_message.Message):
    __slots__ = ("spikes_time", "neuron_indexes", "current_values")
    SPIKES_TIME_FIELD_NUMBER: _ClassVar[int]
    NEURON_INDEXES_FIELD_NUMBER: _ClassVar[int]
    CURRENT_VALUES_FIELD_NUMBER: _ClassVar[int]
    spikes_time: _containers.RepeatedScalarFieldContainer[float]
    neuron_indexes: _containers.RepeatedScalarFieldContainer[int]
    current_values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, spikes_time: _Optional[_Iterable[float]] = ..., neuron_indexes: _Optional[_Iterable[int]] = ..., current_values: _Optional[_Iterable[float]] = ...) -> None: ...
