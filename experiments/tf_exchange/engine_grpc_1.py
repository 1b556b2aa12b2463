"""Engine 1 (gRPC) publishes its own time as a Dump.String `datapack1`."""

from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2


class Script(GrpcEngineScript):
    def initialize(self):
        print("Engine 1 is initializing. Registering datapack...")
        self._registerDataPack("datapack1", dump_pb2.String)
        self._publish()

    def runLoop(self, timestep_ns):
        self._publish()

    def _publish(self):
        message = dump_pb2.String()
        message.string_stream = str(self._time_ns)
        self._setDataPack("datapack1", message)

    def shutdown(self):
        print("Engine 1 is shutting down")

    def reset(self):
        self._time_ns = 0  # the server rewinds it only once reset() returns
        self._publish()
