"""Which protocol an engine speaks, by its nrp-core EngineType, and the client that speaks it.

Apart from `engine_client` so that the base class and its protocol clients import in one direction.
"""

from __future__ import annotations

from engines.nrpcoresim.engine_client import EngineClient
from engines.nrpcoresim.launchers import Launcher
from engines.nrpcoresim.protocols.grpc_client import GrpcEngineClient
from engines.nrpcoresim.protocols.json_client import JsonEngineClient
from engines.nrpcoresim.protocols.registration import RegistrationServer

# Engine types that speak JSON over REST; every other known type speaks gRPC.
JSON_ENGINE_TYPES = frozenset({"python_json", "py_sim", "nest_json", "gazebo_json", "nest_server"})


def make_engine_client(config: dict, launcher: Launcher,
                       registration: RegistrationServer | None) -> EngineClient:
    cls = JsonEngineClient if config["EngineType"] in JSON_ENGINE_TYPES else GrpcEngineClient
    return cls(config, launcher, registration)
