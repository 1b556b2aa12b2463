"""Every notebook in notebooks/ runs top to bottom in a real kernel against a real server; the
notebooks assert what they show (the state after each command, what each experiment did).

Each runs as a copy, and a run changes no notebook metadata: the tracked notebooks carry the
metadata a kernel writes (its language_info; only the Python version follows the interpreter), so
running one in place in JupyterLab and saving it does not make its metadata a change to commit."""

import os
import pathlib
import shutil

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
    tracked = path.read_bytes()
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    notebook = nbformat.read(copy, as_version=4)
    before = without_python_version(notebook.metadata)
    # The kernel finds the server through Jupyter's environment variables, as
    # nrp_jupyter.notebook.client.discovery documents.
    env = {**os.environ, "JUPYTER_SERVER_URL": live_server_quiet.url, "JUPYTER_SERVER_TOKEN": live_server_quiet.token}
    # Widget state is left out, as JupyterLab leaves it out by default ("Save Widget State
    # Automatically" is off): the panel's state belongs to the run, not to the notebook.
    def execute() -> None:
        NotebookClient(notebook, timeout=240, kernel_name="python3", store_widget_state=False,
                       resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)

    try:
        execute()
    except RuntimeError as error:
        # A kernel that dies before it first answers has run no cell (on a busy machine, for one,
        # another test's server can take a port jupyter_client chose before the kernel binds it):
        # started again once, as a user would.
        if "Kernel died before replying to kernel_info" not in str(error):
            raise
        execute()
    errors = [output for cell in notebook.cells for output in cell.get("outputs", [])
              if output.get("output_type") == "error"]
    assert not errors
    assert without_python_version(notebook.metadata) == before, "the kernel wrote metadata the notebook lacks"
    assert path.read_bytes() == tracked


def without_python_version(metadata) -> dict:
    return {**metadata, "language_info": {key: value for key, value in metadata.get("language_info", {}).items()
                                          if key != "version"}}
