"""nrp-jupyter's Jupyter server extension: NRP v4's REST lifecycle for simulations that each run in
a dedicated kernel, with live status over MQTT and a WebSocket. Importing it starts nothing.

In a notebook, `%load_ext nrp_jupyter` adds the `%nrp` magic; `nrp_jupyter.client` is the Python client."""

from .version import __version__  # noqa: F401 (the package's version, as before)


def _jupyter_server_extension_points():
    from .server.app import NrpJupyterApp

    return [{"module": "nrp_jupyter", "app": NrpJupyterApp}]


def load_ipython_extension(ipython):
    """`%load_ext nrp_jupyter`: registers the `%nrp` magic (imported only now)."""
    from .magics import load

    load(ipython)


def unload_ipython_extension(ipython):
    """`%unload_ext nrp_jupyter`: removes the `%nrp` magic and closes its connection."""
    from .magics import unload

    unload(ipython)
