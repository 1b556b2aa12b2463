"""nrp-jupyter's Jupyter server extension: NRP v4's REST lifecycle for simulations that each run in
a dedicated kernel, with live status over MQTT and a WebSocket. Importing it starts nothing."""

__version__ = "0.1.0"


def _jupyter_server_extension_points():
    from .app import NrpJupyterApp

    return [{"module": "nrp_jupyter", "app": NrpJupyterApp}]
