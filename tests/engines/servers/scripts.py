"""Engine scripts the tests write into an engine's working directory."""

# The first engine of nrp-core's tf_exchange example; shutdown() and reset() leave marker files.
TF_EXCHANGE = '''\
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        print("initializing", self._getEngineName())
        self._registerDataPack("datapack1")
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": 0})

    def runLoop(self, timestep_ns):
        print("step", self._time_ns)
        self._setDataPack("datapack1", {"time": self._time_ns, "timestep": timestep_ns})

    def shutdown(self):
        open("shutdown_called", "w").close()

    def reset(self):
        # As in nrp-core, the engine time goes back to 0 only once reset() has returned.
        open("reset_called", "w").close()
        self._setDataPack("datapack1", {"time": 0, "timestep": 0})
'''

# A receiving engine: "rec" starts empty; runLoop fails on demand.
RECEIVER = '''\
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def __init__(self):
        self.steps = 0

    def initialize(self):
        self._registerDataPack("rec")

    def runLoop(self, timestep_ns):
        self.steps += 1
        if self._getDataPack("rec") == {"fail": True}:
            raise RuntimeError("asked to fail")
'''

SYNTAX_ERROR = '''\
from nrp_core.engines.python_json import EngineScript

class Script(EngineScript)
    pass
'''

RAISES_IN_INITIALIZE = '''\
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        raise RuntimeError("boom")
'''

NO_SCRIPT_CLASS = '''\
from nrp_core.engines.python_json import EngineScript


class Engine(EngineScript):
    pass
'''

# The tf_exchange engine for python_grpc, with nrp-core's Dump.String.
GRPC_TF_EXCHANGE = '''\
import json

from nrp_core.engines.python_grpc import GrpcEngineScript
from nrp_protobuf import dump_pb2


class Script(GrpcEngineScript):
    def initialize(self):
        self._registerDataPack("datapack1", dump_pb2.String)
        self._registerDataPack("rec", dump_pb2.String)
        self._publish(0)

    def runLoop(self, timestep_ns):
        if self._getDataPack("rec").string_stream == "fail":
            raise ValueError("asked to fail")
        self._publish(timestep_ns)

    def reset(self):
        # As in nrp-core, the engine time goes back to 0 only once reset() has returned.
        self._publish(0, time_ns=0)

    def shutdown(self):
        open("shutdown_called", "w").close()

    def _publish(self, timestep_ns, time_ns=None):
        time_ns = self._time_ns if time_ns is None else time_ns
        msg = dump_pb2.String(string_stream=json.dumps({"time": time_ns, "timestep": timestep_ns}))
        self._setDataPack("datapack1", msg)
'''

GRPC_SYNTAX_ERROR = '''\
from nrp_core.engines.python_grpc import GrpcEngineScript


class Script(GrpcEngineScript):
    def runLoop(self, timestep_ns)
        pass
'''

# A runLoop that never ends; it connects to the test's NotifyPort first, to say it has begun.
STUCK = '''\
import socket
import time

from nrp_core.engines.python_json import EngineScript
from nrp_core.engines.python_grpc import GrpcEngineScript


class Script({base}):
    def runLoop(self, timestep_ns):
        socket.create_connection(("127.0.0.1", self._config["NotifyPort"])).close()
        time.sleep(120)

    def shutdown(self):
        open("shutdown_called", "w").close()
'''

# A script whose initialize() starts a non-daemon thread that outlives shutdown().
LEAVES_A_THREAD = '''\
import threading
import time

from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        threading.Thread(target=time.sleep, args=(600,), name="simulator", daemon=False).start()

    def runLoop(self, timestep_ns):
        pass
'''
