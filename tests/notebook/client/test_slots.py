"""What the client reads from /events messages to queue a launch and to wait for a state."""

import pytest

from nrp_jupyter.notebook.client.simulation import pushed_state
from nrp_jupyter.notebook.client.slots import frees_a_slot


def lifecycle(source, target):
    return {"simulationID": 3, "topic": "lifecycle",
            "payload": {"source_node": "n", "source_state": source, "event": target, "target_state": target}}


@pytest.mark.parametrize(("message", "frees"), [
    (lifecycle("started", "stopped"), True),
    (lifecycle("paused", "failed"), True),
    # A completed simulation keeps its slot until it is stopped.
    (lifecycle("started", "completed"), False),
    (lifecycle("created", "paused"), False),
    ({"simulationID": 3, "topic": "status", "payload": {"state": "stopped"}}, False),
    ({"simulationID": 3, "topic": "lifecycle", "payload": "not an object"}, False),
    ("not a message", False),
])
def test_only_a_final_lifecycle_transition_frees_a_slot(message, frees):
    assert frees_a_slot(message) is frees


@pytest.mark.parametrize(("message", "state"), [
    (lifecycle("paused", "started"), "started"),
    ({"simulationID": 3, "topic": "status", "payload": {"state": "paused", "simulationTime": 1.0}}, "paused"),
    ({"simulationID": 3, "topic": "status", "payload": {"progress": {"task": "Launching"}}}, None),
    ({"simulationID": 3, "topic": "runtime_error", "payload": {"msg": "boom"}}, None),
    ({"simulationID": 3, "topic": "data/x", "payload": []}, None),
    (None, None),
])
def test_the_state_a_pushed_message_tells(message, state):
    assert pushed_state(message) == state
