"""An IPython shell with `%load_ext nrp_jupyter`, against the session's real server."""

import pytest
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config


@pytest.fixture
def shell(server, monkeypatch):
    """A fresh InteractiveShell with the extension loaded, finding the server through the
    environment; cleared after the test."""
    monkeypatch.setenv("JUPYTER_SERVER_URL", server.url)
    monkeypatch.setenv("JUPYTER_SERVER_TOKEN", server.token)
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    InteractiveShell.clear_instance()
    shell = InteractiveShell.instance(config=config)
    shell.run_line_magic("load_ext", "nrp_jupyter")
    yield shell
    shell.run_line_magic("unload_ext", "nrp_jupyter")
    shell.history_manager.end_session()
    InteractiveShell.clear_instance()
