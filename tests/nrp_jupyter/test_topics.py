import re

import pytest

from engines.mqtt import topics

pytestmark = pytest.mark.timeout(10)

LEAVES = {
    topics.status: "status",
    topics.runtime_error: "runtime_error",
    topics.lifecycle: "lifecycle",
    topics.data: "data",
    topics.welcome: "welcome",
}


@pytest.mark.parametrize("prefix, base", [("", "nrp_simulation/7"), ("nrp", "nrp/nrp_simulation/7"),
                                          ("site/user-1", "site/user-1/nrp_simulation/7")])
def test_topic_names_with_and_without_prefix(prefix, base):
    assert topics.simulation_base(prefix, 7) == base
    for build, leaf in LEAVES.items():
        assert build(prefix, 7) == f"{base}/{leaf}"
    assert topics.data_item(prefix, 7, "camera_img") == f"{base}/data/camera_img"


def test_sim_id_may_be_text():
    assert topics.status("", "12") == topics.status("", 12) == "nrp_simulation/12/status"


@pytest.mark.parametrize("prefix", ["a+b", "#", "nrp/#", "x\0y", "/nrp", "nrp/", "a//b", "$SYS", 3])
def test_bad_prefix_is_refused_by_every_topic(prefix):
    for build in (*LEAVES, topics.simulation_base):
        with pytest.raises(ValueError, match=re.escape(repr(prefix))):
            build(prefix, 1)
    with pytest.raises(ValueError, match=re.escape(repr(prefix))):
        topics.data_item(prefix, 1, "dp")
    with pytest.raises(ValueError, match=re.escape(repr(prefix))):
        topics.client_id(prefix, "backend")


@pytest.mark.parametrize("name", ["a/b", "../other", "+", "dp#", "x\0", "1/status"])
def test_bad_datapack_name_is_refused(name):
    with pytest.raises(ValueError, match="datapack name") as caught:
        topics.data_item("nrp", 1, name)
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize("name", ["", None, True, 1.5])
def test_datapack_name_must_be_non_empty_text(name):
    with pytest.raises(ValueError, match="datapack name"):
        topics.data_item("", 1, name)


@pytest.mark.parametrize("sim_id", ["1/../2", "+", "#", "", "1\0"])
def test_bad_simulation_id_is_refused(sim_id):
    with pytest.raises(ValueError, match="simulation id"):
        topics.status("", sim_id)


def test_validators_return_valid_values():
    assert topics.validate_prefix("") == ""
    assert topics.validate_prefix("a/b") == "a/b"
    assert topics.validate_name(5) == "5"
    assert topics.validate_name("joint_states") == "joint_states"


@pytest.mark.parametrize("prefix, pattern", [("", r"nrp_backend_[0-9a-f]{8}"),
                                             ("nrp", r"nrp_nrp_backend_[0-9a-f]{8}"),
                                             ("a/b", r"a_b_nrp_backend_[0-9a-f]{8}")])
def test_client_id_is_unique_per_call(prefix, pattern):
    ids = {topics.client_id(prefix, "nrp_backend") for _ in range(50)}
    assert len(ids) == 50
    assert all(re.fullmatch(pattern, one) for one in ids)


def test_client_id_refuses_a_bad_role():
    with pytest.raises(ValueError, match="role"):
        topics.client_id("", "a/b")


@pytest.mark.parametrize("prefix, base", [("", "nrp_simulation/+/data"), ("nrp", "nrp/nrp_simulation/+/data"),
                                          ("site/user-1", "site/user-1/nrp_simulation/+/data")])
def test_data_filters_are_the_index_and_the_datapacks_of_every_simulation(prefix, base):
    assert topics.data_filters(prefix) == [base, f"{base}/#"]


@pytest.mark.parametrize("prefix", ["", "nrp", "a/b"])
def test_data_filters_match_the_datatransfer_topics_and_nothing_else(prefix):
    from paho.mqtt.client import topic_matches_sub

    def matched(topic):
        return any(topic_matches_sub(sub, topic) for sub in topics.data_filters(prefix))

    for sim_id in (0, 17):
        assert matched(topics.data(prefix, sim_id))
        assert matched(topics.data_item(prefix, sim_id, "engine_time"))
        for other in (topics.status, topics.runtime_error, topics.lifecycle, topics.welcome):
            assert not matched(other(prefix, sim_id))
    assert not matched(topics.data("elsewhere" if prefix else "nrp", 0))


@pytest.mark.parametrize("prefix", ["a+b", "#", "nrp/", "$SYS", None])
def test_data_filters_refuse_a_bad_prefix(prefix):
    with pytest.raises(ValueError, match=re.escape(repr(prefix))):
        topics.data_filters(prefix)
