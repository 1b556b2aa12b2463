"""Engine 2 (python_grpc) receives engine 1's time as the Dump.String `rec_datapack2` and prints it."""

from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2


class Script(GrpcEngineScript):
    def initialize(self):
        print("Engine 2 is initializing. Registering datapack...")
        self._registerDataPack("rec_datapack2", dump_pb2.String)

    def runLoop(self, timestep_ns):
        received = self._getDataPack("rec_datapack2")
        print(f"python_2 at {self._time_ns} ns received {received.string_stream}")

    def shutdown(self):
        print("Engine 2 is shutting down")

    def reset(self):
        pass
