"""The notebook side's public names come from `nrp_jupyter` itself, and only when asked for: the
Jupyter server imports `nrp_jupyter` too and must load nothing of the notebook side."""

import json
import subprocess
import sys

import pytest

import nrp_jupyter
from nrp_jupyter.notebook import client, panel

pytestmark = pytest.mark.timeout(60)

# What the server process must not load: the notebook side and the widget libraries only it needs
# (websocket-client and websockets are not here: jupyter_server and the embedded broker use them).
NOTEBOOK_SIDE = ("nrp_jupyter.notebook", "anywidget", "ipywidgets")


def modules_after(code: str) -> list[str]:
    """The names in `sys.modules` after running `code` in a fresh interpreter."""
    program = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True,
                         timeout=50).stdout
    return json.loads(out.splitlines()[-1])


def loaded_by_the_notebook_side(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in NOTEBOOK_SIDE)


def test_importing_the_package_imports_nothing_of_the_notebook_side():
    modules = modules_after("import nrp_jupyter")
    assert "nrp_jupyter" in modules
    assert [name for name in modules if loaded_by_the_notebook_side(name)] == []


def test_the_server_extension_imports_nothing_of_the_notebook_side():
    modules = modules_after("import nrp_jupyter\nnrp_jupyter._jupyter_server_extension_points()")
    assert "nrp_jupyter.server.app" in modules
    assert [name for name in modules if loaded_by_the_notebook_side(name)] == []


def test_the_client_and_the_panel_are_importable_from_the_package():
    from nrp_jupyter import Connection, ControlPanel, Simulation, launch, run_all, simulations

    assert (Connection, Simulation, launch, run_all, simulations) == (
        client.Connection, client.Simulation, client.launch, client.run_all, client.simulations)
    assert ControlPanel is panel.ControlPanel


def test_the_package_exports_every_public_name_of_the_client_and_the_panel():
    assert set(nrp_jupyter.__all__) == {"__version__", *client.__all__, *panel.__all__}
    for name in nrp_jupyter.__all__:
        assert getattr(nrp_jupyter, name) is not None
    assert set(nrp_jupyter.__all__) <= set(dir(nrp_jupyter))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_name"):
        nrp_jupyter.no_such_name  # noqa: B018
    with pytest.raises(ImportError):
        from nrp_jupyter import no_such_name  # noqa: F401
