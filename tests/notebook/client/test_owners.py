"""401 from NRP's owner check, on a server whose users are told apart by a header
(tests/nrp_jupyter/identity.py), so that a second user exists."""

import pytest

from nrp_jupyter.notebook.client import Connection, Unauthorized, launch
from tests.conftest import EXPERIMENTS
from tests.live_server import LiveServer, experiments_root
from tests.notebook.client import experiments
from tests.nrp_jupyter.identity import USER_HEADER


class UserConnection(Connection):
    """A connection that also says who is asking, as the header identity provider wants."""

    def __init__(self, url, token, user):
        super().__init__(url, token)
        self.user = user

    def headers(self):
        return {**super().headers(), USER_HEADER: self.user}


@pytest.fixture(scope="module")
def users_server(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("users_server")
    root = experiments_root(tmp_path / "root", EXPERIMENTS, names=["tf_exchange"])
    experiments.add_runs_until_stopped(root)
    server = LiveServer(root, tmp_path, extra_args=(
        "--ServerApp.identity_provider_class=tests.nrp_jupyter.identity.HeaderIdentityProvider",)).start()
    yield server
    server.stop()


@pytest.mark.timeout(120)
def test_only_the_owner_may_change_a_simulation(users_server):
    with UserConnection(users_server.url, users_server.token, "ann") as ann, \
            UserConnection(users_server.url, users_server.token, "bob") as bob:
        simulation = launch(experiments.RUNS_UNTIL_STOPPED, connection=ann)
        assert simulation.info()["owner"] == "ann"
        as_bob = type(simulation)(bob, simulation.id)
        assert as_bob.state == "paused"  # reading is for everyone
        with pytest.raises(Unauthorized) as caught:
            as_bob.start()
        assert caught.value.status == 401
        assert caught.value.message == ("Insufficient permissions to apply changes. "
                                        "Operation only allowed by simulation owner")
        assert simulation.stop() == "stopped"
