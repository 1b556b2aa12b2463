"""Runs one of nrp-core's Python engine server programs with nrp-core's `engine_server` modules
taking the place of this project's in one `nrp_core.engines` package, as an nrp-core installation
has them (it installs those files into `nrp_core/engines/python_json/` and `python_grpc/`):

    python real_engines_overlay.py ENGINE_SERVER_DIR PACKAGE PROGRAM [ARGS...]

e.g. `... <checkout>/nrp_python_grpc_engine/nrp_python_grpc_engine/engine_server
nrp_core.engines.python_grpc <that dir>/python_grpc_engine.py --engine=python_1 --serverurl=...`.

ENGINE_SERVER_DIR goes first on the package's `__path__` before the package's `__init__` runs,
so `server_callbacks`, `engine_script` (and the `EngineScript` the package exports) are nrp-core's,
while `nrp_core.data.*` and `nrp_protobuf` stay this project's. The program then runs as
`__main__` with ARGS as its command line, from its own directory first on sys.path, as if
started directly. Nothing is copied or written.
"""

import importlib.util
import os
import runpy
import sys


def install_overlay(package: str, directory: str) -> None:
    """Imports `package` with `directory` searched before the package's own folder."""
    if package in sys.modules:
        raise RuntimeError(f"{package} is already imported; the overlay must come first")
    spec = importlib.util.find_spec(package)
    if spec is None or spec.submodule_search_locations is None:
        raise ModuleNotFoundError(f"{package} is not an installed package")
    spec.submodule_search_locations.insert(0, os.path.abspath(directory))
    module = importlib.util.module_from_spec(spec)
    sys.modules[package] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[package]
        raise
    parent, _, child = package.rpartition(".")
    setattr(sys.modules[parent], child, module)


def main(argv: list[str]) -> None:
    if len(argv) < 3:
        sys.exit(__doc__)
    directory, package, program, *arguments = argv
    install_overlay(package, directory)
    sys.argv = [program, *arguments]
    sys.path[0] = os.path.dirname(os.path.abspath(program))
    runpy.run_path(program, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
