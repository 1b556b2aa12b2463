"""`nrp_core.engines.python_grpc.grpc_engine_script`, where nrp-core defines `GrpcEngineScript`."""

from engines.servers.script.grpc_script import GrpcEngineScript

__all__ = ["GrpcEngineScript"]
