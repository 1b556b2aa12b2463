"""`jupyter nrp`, a process of its own: the command line (`main`), headless runs of an experiment
(`headless`, `progress`) and the private Jupyter server a run starts when given none
(`private_server`). It reaches the server through the notebook client, as a notebook does."""

from .main import main

__all__ = ["main"]
