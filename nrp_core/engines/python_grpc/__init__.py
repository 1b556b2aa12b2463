"""`from nrp_core.engines.python_grpc import GrpcEngineScript`, as nrp-core engine scripts write it.

As in nrp-core, the package takes `GrpcEngineScript` from its `grpc_engine_script` module, so that
a directory put first on this package's `__path__` supplies the class for the whole package.
"""

from .grpc_engine_script import GrpcEngineScript

__all__ = ["GrpcEngineScript"]
