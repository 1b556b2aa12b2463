"""A hundred MQTT subscribers on one simulation, on mosquitto: each sees every state change of
the status topic, and every lifecycle transition, in order, through a walk of the lifecycle with
no pause between the requests."""

import json
import time

import pytest

from nrp_jupyter.notebook.client import Connection, launch
from tests.nrp_jupyter.mqtt_helpers import Subscriber
from tests.scale.conftest import RUNS_UNTIL_STOPPED
from tests.scale.transitions import EXPECTED_LIFECYCLE, EXPECTED_STATES, drive, state_changes

SUBSCRIBERS = 100
TOPICS = ("nrp_simulation/+/status", "nrp_simulation/+/lifecycle")


def seen_by(subscriber: Subscriber, simulation_id: int) -> tuple[list[str], list[tuple[str, str]]]:
    """(status states, lifecycle transitions) the subscriber received for the simulation, in order."""
    states, transitions = [], []
    for message in subscriber.received():
        if not message.topic.startswith(f"nrp_simulation/{simulation_id}/") or not message.payload:
            continue  # other simulations, and the clearing of the retained lifecycle at the end
        payload = json.loads(message.payload)
        if message.topic.endswith("/status") and "state" in payload:
            states.append(payload["state"])
        elif message.topic.endswith("/lifecycle"):
            transitions.append((payload["source_state"], payload["target_state"]))
    return states, transitions


def subscribe(address: str, count: int) -> list[Subscriber]:
    subscribers = []
    try:
        for _ in range(count):
            subscribers.append(Subscriber(address, TOPICS))
        for subscriber in subscribers:
            subscriber.wait_subscribed(30)
    except BaseException:
        close_all(subscribers)
        raise
    return subscribers


def close_all(subscribers: list[Subscriber]) -> None:
    for subscriber in subscribers:
        subscriber.close()


@pytest.mark.timeout(120)
def test_a_hundred_subscribers_see_every_transition_in_order(scale_server, scale_broker):
    subscribers = subscribe(scale_broker.address, SUBSCRIBERS)
    try:
        with Connection(scale_server.url, scale_server.token) as connection:
            simulation = launch(RUNS_UNTIL_STOPPED, connection=connection)
            took = drive(simulation)
        stopped_at = time.monotonic()
        topic = f"nrp_simulation/{simulation.id}/status"
        last_arrivals = []
        for subscriber in subscribers:
            arrived = subscriber.wait_for(topic, lambda message: message.json().get("state") == "stopped",
                                          timeout=30)
            last_arrivals.append(arrived.at)
        print(f"\n{SUBSCRIBERS} subscribers, requests {', '.join(f'{t * 1e3:.0f}' for t in took)} ms; "
              f"every subscriber had `stopped` {(max(last_arrivals) - stopped_at) * 1e3:.0f} ms after the "
              f"stop answered")
        for index, subscriber in enumerate(subscribers):
            states, transitions = seen_by(subscriber, simulation.id)
            assert state_changes(states) == EXPECTED_STATES, (index, states)
            assert transitions == EXPECTED_LIFECYCLE, (index, transitions)
    finally:
        close_all(subscribers)
