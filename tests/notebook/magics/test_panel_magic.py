"""`%nrp panel`: the control panel of nrp_jupyter.notebook.panel, displayed for the simulation."""

import pytest
from ipywidgets import Widget
from IPython.utils.capture import capture_output

from nrp_jupyter.notebook.magics import NrpCommandError
from nrp_jupyter.notebook.panel import ControlPanel
from tests.notebook.client import experiments

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def constructed_widgets(monkeypatch):
    """Every widget constructed during the test; panels among them are closed at its end."""
    made = []
    monkeypatch.setattr(Widget, "_widget_construction_callback", None)
    Widget.on_widget_constructed(made.append)
    yield made
    for widget in made:
        if isinstance(widget, ControlPanel):
            widget.close()


def test_panel_of_the_last_launched_simulation(shell, constructed_widgets, capsys):
    shell.run_line_magic("nrp", f"launch {experiments.RUNS_UNTIL_STOPPED}")
    simulation_id = int(capsys.readouterr().out.split()[1])
    with capture_output() as captured:
        shell.run_line_magic("nrp", "panel")
    panels = [widget for widget in constructed_widgets if isinstance(widget, ControlPanel)]
    assert len(panels) == 1
    panel = panels[0]
    assert panel.simulation.id == simulation_id
    assert panel.simulation.connection is shell.magics_manager.registry["NrpMagics"].connection
    displayed = [output.data for output in captured.outputs]
    assert any(data.get("application/vnd.jupyter.widget-view+json", {}).get("model_id") == panel.model_id
               for data in displayed)


def test_panel_of_an_unknown_simulation_is_one_line(shell, constructed_widgets):
    with pytest.raises(NrpCommandError, match="The simulation with the given ID was not found"):
        shell.run_line_magic("nrp", "panel 987654")
    assert not [widget for widget in constructed_widgets if isinstance(widget, ControlPanel)]
