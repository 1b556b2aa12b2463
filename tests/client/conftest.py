"""The client, magics and CLI tests share the session's real server (`live_server`)."""

import pytest

from nrp_jupyter.client import Connection
from tests.client import experiments


def stop_everything(server) -> None:
    """Stops every simulation that is not final, `completed` ones too (they hold a launch slot)."""
    code, records = server.call("GET", "simulation")
    for record in records if code == 200 else []:
        if record.get("state") not in ("stopped", "failed"):
            server.call("PUT", "simulation", str(record["simulationID"]), "state", body={"state": "stopped"})


@pytest.fixture
def server(live_server):
    """The session's server with the test experiments added; whatever a test leaves running is
    stopped after it."""
    experiments.add_runs_until_stopped(live_server.root)
    experiments.add_raises(live_server.root)
    experiments.add_with_other_script(live_server.root)
    experiments.add_does_not_compile(live_server.root)
    yield live_server
    stop_everything(live_server)


@pytest.fixture
def connection(server):
    with Connection(server.url, server.token) as connection:
        yield connection
