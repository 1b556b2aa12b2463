"""Engine 2 receives engine 1's datapack as `rec_datapack2` and prints it at every step."""

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        print("Engine 2 is initializing. Registering datapack...")
        self._registerDataPack("rec_datapack2")

    def runLoop(self, timestep_ns):
        received = self._getDataPack("rec_datapack2")
        print(f"python_2 at {self._time_ns} ns received {received}")

    def shutdown(self):
        print("Engine 2 is shutting down")

    def reset(self):
        pass
