import json

import pytest

from nrp_jupyter.notebook.panel.frames import FrameError, parse_frame, topic_leaf


@pytest.mark.parametrize(("topic", "leaf"), [
    ("nrp_simulation/3/status", "status"),
    ("lab/a/nrp_simulation/3/runtime_error", "runtime_error"),
    ("nrp_simulation/3/data/joint_states", "data/joint_states"),
    ("status", "status"),
    ("data/camera", "data/camera"),
])
def test_the_leaf_below_the_simulation_id(topic, leaf):
    assert topic_leaf(topic) == leaf


def test_a_frame_decodes_into_an_event():
    event = parse_frame(json.dumps({"simulationID": 4, "topic": "p/nrp_simulation/4/data/cam",
                                    "payload": {"samples": []}}))
    assert (event.simulation_id, event.leaf, event.datapack, event.payload) == (4, "data/cam", "cam", {"samples": []})
    assert parse_frame(b'{"simulationID": 4, "topic": "status", "payload": null}').datapack is None


@pytest.mark.parametrize(("text", "named"), [
    ("not json", "not JSON"),
    ("[1, 2]", "JSON object"),
    ('{"topic": "status", "payload": {}}', "'simulationID'"),
    ('{"simulationID": true, "topic": "status", "payload": {}}', "'simulationID'"),
    ('{"simulationID": 1, "topic": "", "payload": {}}', "'topic'"),
    ('{"simulationID": 1, "topic": "nrp_simulation/1/status"}', "'payload'"),
])
def test_a_malformed_frame_is_refused_naming_the_key(text, named):
    with pytest.raises(FrameError, match=named):
        parse_frame(text)
