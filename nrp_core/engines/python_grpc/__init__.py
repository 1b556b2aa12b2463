"""`from nrp_core.engines.python_grpc import GrpcEngineScript`, as nrp-core engine scripts write it."""

from engines.servers.grpc_script import GrpcEngineScript

__all__ = ["GrpcEngineScript"]
