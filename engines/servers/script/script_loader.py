"""Load the `Script` class from an engine's PythonFileName, as nrp-core does.

The file's directory goes on sys.path (so the script can import its neighbours) and the file is
imported as a module named after it.
"""

import importlib.util
import logging
import os
import sys

log = logging.getLogger(__name__)


class ScriptLoadError(Exception):
    """The script file is missing, or defines no suitable `Script` class."""


def load_script_class(python_file: str, base: type) -> type:
    """Import `python_file` (relative to the working directory) and return its `Script` class,
    which must subclass `base`. Errors raised by the script's own code propagate unchanged."""
    path = os.path.abspath(python_file)
    if not os.path.isfile(path):
        raise ScriptLoadError(f'PythonFileName "{python_file}" does not exist (resolved to {path})')
    directory, filename = os.path.split(path)
    if directory not in sys.path:
        sys.path.insert(0, directory)

    module_name = os.path.splitext(filename)[0]
    existing = sys.modules.get(module_name)
    # A script named like an already imported module (json.py, engine.py...) must not replace it,
    # nor be mistaken for it, as a plain import_module would do.
    if existing is not None and os.path.abspath(getattr(existing, "__file__", "") or "") != path:
        module_name = f"_nrp_engine_script_{module_name}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    log.info("loaded %s as module %s", path, module_name)

    script_class = getattr(module, "Script", None)
    if script_class is None:
        raise ScriptLoadError(f'"{python_file}" defines no class Script')
    if not (isinstance(script_class, type) and issubclass(script_class, base)):
        # nrp-core's wording, which its users and unit tests look for.
        raise ScriptLoadError(f'"{python_file}": Script class must inherit from {base.__name__} class')
    return script_class
