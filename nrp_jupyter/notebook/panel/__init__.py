"""The live control panel widget of a simulation: `ControlPanel(simulation)`."""

from .widget import ControlPanel

__all__ = ["ControlPanel"]
