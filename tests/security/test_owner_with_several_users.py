"""NRP's owner check with an identity provider that tells users apart (tests/nrp_jupyter/identity.py):
the owner is who launched, never what the body says; others read, but neither change nor delete."""

import copy

import pytest

from tests.nrp_jupyter.identity import USER_HEADER

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def jp_server_config(jp_server_config):
    config = copy.deepcopy(jp_server_config)
    config["ServerApp"]["identity_provider_class"] = "tests.nrp_jupyter.identity.HeaderIdentityProvider"
    return config


async def test_another_user_cannot_change_delete_or_claim_a_simulation(nrp, raw, jp_auth_header):
    def as_user(name):
        return {**jp_auth_header, USER_HEADER: name}

    code, _, launched = await raw("POST", "nrp/simulation", headers=as_user("alice"),
                                  body={"experimentID": "tf_exchange", "owner": "bob"})
    assert code == 201, launched
    assert launched["owner"] == "alice"
    path = f"nrp/simulation/{launched['simulationID']}"
    for state in ("started", "paused", "stopped"):
        code, _, answer = await raw("PUT", f"{path}/state", headers=as_user("bob"), body={"state": state})
        assert code == 401, answer
    assert (await raw("DELETE", path, headers=as_user("bob")))[0] == 401
    assert (await raw("GET", f"{path}/state", headers=as_user("bob")))[2] == {"state": "paused"}
    code, _, answer = await raw("PUT", f"{path}/state", headers=as_user("alice"), body={"state": "stopped"})
    assert (code, answer) == (200, {"state": "stopped"})
    assert (await raw("DELETE", path, headers=as_user("bob")))[0] == 401
    assert (await raw("DELETE", path, headers=as_user("alice")))[0] == 204
