"""Engine 1 publishes its own time as `datapack1`."""

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        print("Engine 1 is initializing. Registering datapack...")
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": 0})

    def runLoop(self, timestep_ns):
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})

    def shutdown(self):
        print("Engine 1 is shutting down")

    def reset(self):
        # The engine time is still the old one here: it goes back to 0 once reset() returns.
        self._setDataPack("datapack1", {"time": 0, "timestep": 0})
