"""The /events WebSocket through the client's EventStream."""

import pytest

from nrp_jupyter.notebook.client import Connection, Forbidden, NrpError, ServerUnreachable, launch
from tests.notebook.client import experiments
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)


def collect(stream, until, timeout=30.0) -> list[dict]:
    """The stream's messages up to and including the first for which `until(message)` holds."""
    messages = []

    def arrived() -> bool:
        message = stream.next(timeout=0.5)
        if message is None:
            return False
        messages.append(message)
        return until(message)

    # No pause between reads: next() itself waits for the next message.
    eventually(arrived, timeout, lambda: f"the awaited message; got {messages[-5:]}", every_s=0)
    return messages


def test_status_and_errors_of_a_failing_script_arrive(connection):
    with connection.events() as stream:
        simulation = launch(experiments.RAISES, connection=connection)
        simulation.start()
        messages = collect(stream, lambda m: m["simulationID"] == simulation.id and m["topic"] == "status"
                           and m["payload"].get("state") == "completed")
    mine = [message for message in messages if message["simulationID"] == simulation.id]
    errors = [message["payload"] for message in mine if message["topic"] == "runtime_error"]
    assert errors and errors[0]["line_number"] == experiments.RAISING_LINE
    assert "the controller diverged" in errors[0]["msg"]
    assert any("simulationTime" in message["payload"] for message in mine if message["topic"] == "status")
    assert any(message["topic"] == "lifecycle" for message in mine)
    simulation.stop()


def test_a_simulations_own_stream_sees_only_it(connection):
    first = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
    with first.events() as stream:
        other = launch(experiments.RUNS_UNTIL_STOPPED, connection=connection)
        other.start()
        first.start()
        collect(stream, lambda m: m["topic"] == "status" and m["payload"].get("state") == "started")
        other.stop()
        first.stop()
        messages = collect(stream,
                           lambda m: m["topic"] == "status" and m["payload"].get("state") == "stopped")
    assert {message["simulationID"] for message in messages} == {first.id}


def test_closing_ends_the_iteration(connection):
    stream = connection.events()
    stream.close()
    assert list(stream) == []
    with pytest.raises(NrpError, match="closed"):
        stream.next(timeout=0.1)


def test_a_wrong_token_is_refused(server):
    with pytest.raises(Forbidden):
        Connection(server.url, "wrong").events()


def test_nothing_listening_is_unreachable():
    with pytest.raises(ServerUnreachable, match="cannot open the event stream"):
        Connection(f"http://127.0.0.1:{free_port()}/", "t").events(timeout=2)


@pytest.mark.parametrize(("topic", "leaf"), [("nrp_simulation/3/status", "status"),
                                             ("lab/a/nrp_simulation/12/runtime_error", "runtime_error"),
                                             ("data/joints", "data/joints"), ("status", "status"),
                                             ("nrp_simulation/x/status", "nrp_simulation/x/status")])
def test_topic_leaf(topic, leaf):
    from nrp_jupyter.notebook.client.events import topic_leaf

    assert topic_leaf(topic) == leaf
