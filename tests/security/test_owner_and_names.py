"""Who owns a simulation cannot be claimed from the request, and names that reach MQTT topics cannot
become wildcards or other levels.

Owners: with Jupyter's one-token identity the owner is the server's account, whatever the body or
NRP's X-User-Name header say; with an identity provider that tells users apart
(tests/nrp_jupyter/identity.py, test_owner_with_several_users.py) another user can read but not change or delete.
MQTT: experiment ids never enter a topic (simulation ids are numbers the server allocates);
datapack names and prefixes from configs are refused when they hold '+', '#', '/' or NUL.
"""

import getpass

import pytest

from engines.servers.datatransfer.config import DataTransferConfig, DataTransferConfigError
from engines.mqtt import topics
from tests.nrp_jupyter.identity import USER_HEADER

pytestmark = pytest.mark.timeout(120)

INJECTIONS = ["a+b", "a#", "#", "+", "a/b", "../x", "a\0b", ""]


async def test_the_owner_is_not_taken_from_the_body_or_nrp_s_user_header(nrp, raw, jp_auth_header):
    code, _, launched = await raw("POST", "nrp/simulation",
                                  headers={**jp_auth_header, "X-User-Name": "mallory", USER_HEADER: "mallory"},
                                  body={"experimentID": "tf_exchange", "owner": "mallory"})
    assert code == 201, launched
    assert launched["owner"] == getpass.getuser()
    assert (await nrp.put_state(launched["simulationID"], "stopped"))[0] == 200


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_name_that_could_change_a_topic_is_refused(name):
    with pytest.raises(ValueError, match="MQTT"):
        topics.data_item("", 0, name)
    with pytest.raises(ValueError, match="MQTT"):
        topics.status("", name)
    if name:
        with pytest.raises(ValueError, match="MQTT prefix"):
            topics.status(f"p/{name}/" if "/" not in name else name + "/", 0)


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_datatransfer_config_with_such_a_datapack_name_is_refused_naming_the_key(name):
    config = {"dumps": [{"name": "fine", "network": True}, {"name": name, "network": True}]}
    with pytest.raises(DataTransferConfigError, match=r"dumps\[1\]\.name"):
        DataTransferConfig.from_engine_config(config)


@pytest.mark.parametrize("name", ["a+b", "a#b", "a/b"])
async def test_an_experiment_id_with_topic_characters_never_reaches_a_topic(nrp, subscriber, name):
    code, answer, _ = await nrp.launch(name)
    assert code == 404, answer
    assert all(name not in message.topic for message in subscriber.received()), "an id reached a topic"
