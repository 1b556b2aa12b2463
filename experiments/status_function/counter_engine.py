"""Counts its steps in `counter`; the client sets the target with a `command` datapack."""

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._count = 0
        self._done_at = 0
        self._registerDataPack("counter")
        self._registerDataPack("command")
        self._publish()

    def runLoop(self, timestep_ns):
        command = self._getDataPack("command")
        if command:
            self._done_at = int(command.get("done_at", 0))
            self._setDataPack("command", None)
        self._count += 1
        self._publish()

    def _publish(self):
        self._setDataPack("counter", {"count": self._count, "time": self._time_ns, "done_at": self._done_at})

    def reset(self):
        self._count = 0
        self._done_at = 0
        self._time_ns = 0  # the server rewinds it only once reset() returns
        self._publish()

    def shutdown(self):
        pass
