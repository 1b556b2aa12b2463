"""Every notebook in notebooks/ runs top to bottom in a real kernel against a real server; the
notebooks assert what they show (the state after each command, what each experiment did)."""

import os
import pathlib

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_every_experiment_has_a_notebook():
    experiments = {path.name for path in (REPO / "experiments").iterdir() if (path / "main_script.py").is_file()}
    assert experiments <= {path.stem for path in NOTEBOOKS}


@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path: pathlib.Path, live_server_quiet, tmp_path):
    notebook = nbformat.read(path, as_version=4)
    # The kernel finds the server through Jupyter's environment variables, as
    # nrp_jupyter.notebook.client.discovery documents.
    env = {**os.environ, "JUPYTER_SERVER_URL": live_server_quiet.url, "JUPYTER_SERVER_TOKEN": live_server_quiet.token}
    client = NotebookClient(notebook, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors
