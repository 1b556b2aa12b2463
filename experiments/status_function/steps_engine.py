"""Counts its steps in `steps` (Wrappers.Int32Value); an `offset` datapack from the client is added once."""

from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import wrappers_pb2


class Script(GrpcEngineScript):
    def initialize(self):
        self._registerDataPack("steps", wrappers_pb2.Int32Value)
        self._registerDataPack("offset", wrappers_pb2.Int32Value)
        self._steps = 0

    def runLoop(self, timestep_ns):
        offset = self._getDataPack("offset")
        self._steps += 1 + offset.value
        offset.value = 0
        self._publish()

    def _publish(self):
        steps = wrappers_pb2.Int32Value()
        steps.value = self._steps
        self._setDataPack("steps", steps)

    def reset(self):
        self._steps = 0
        self._publish()

    def shutdown(self):
        pass
