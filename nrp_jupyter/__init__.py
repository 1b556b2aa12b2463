"""nrp-jupyter's Jupyter server extension: NRP v4's REST lifecycle for simulations that each run in
a dedicated kernel, with live status over MQTT and a WebSocket. Importing it starts nothing.

In a notebook, `%load_ext nrp_jupyter` adds the `%nrp` magic, and the client and the control panel
are imported from here: `from nrp_jupyter import launch, ControlPanel`. They live in
`nrp_jupyter.notebook` and are imported on first use only, so that the Jupyter server, which
imports this package too, loads nothing of the notebook side (no client, no widget library)."""

from .version import __version__

# The notebook side's public names: the client's `__all__` (tests/notebook/test_public_api.py
# checks that the two lists agree) and the control panel.
_CLIENT_NAMES = frozenset({
    "FINAL_STATES", "STATES", "AuthError", "BadRequest", "Conflict", "Connection", "Forbidden", "NoFreeSlot",
    "NotFound", "NrpError", "Recording", "Run", "ServerError", "ServerNotFound", "ServerUnreachable",
    "Simulation", "SimulationEnded", "StateTransitionError", "Unauthorized", "WaitTimeout", "launch", "run_all",
    "run_to_end", "simulations",
})
_PANEL_NAMES = frozenset({"ControlPanel"})

__all__ = ["__version__", *sorted(_CLIENT_NAMES | _PANEL_NAMES)]


def __getattr__(name: str):
    # Imported on first use: the panel brings anywidget and ipywidgets, which a server must not load.
    if name in _CLIENT_NAMES:
        from .notebook import client as module
    elif name in _PANEL_NAMES:
        from .notebook import panel as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # later look-ups find it without coming here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_CLIENT_NAMES, *_PANEL_NAMES})


def _jupyter_server_extension_points():
    from .server.app import NrpJupyterApp

    return [{"module": "nrp_jupyter", "app": NrpJupyterApp}]


def load_ipython_extension(ipython):
    """`%load_ext nrp_jupyter`: registers the `%nrp` magic (imported only now)."""
    from .notebook.magics import load

    load(ipython)


def unload_ipython_extension(ipython):
    """`%unload_ext nrp_jupyter`: removes the `%nrp` magic and closes its connection."""
    from .notebook.magics import unload

    unload(ipython)
