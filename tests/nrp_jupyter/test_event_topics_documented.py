"""The `/events` WebSocket documents every kind of topic it pushes, datapack streams included."""

import inspect
import json
import pathlib

import pytest

from nrp_jupyter.server import handlers

pytestmark = pytest.mark.timeout(30)

OPENAPI = pathlib.Path(handlers.__file__).with_name("openapi.json")
TOPICS = ("status", "runtime_error", "lifecycle", "steering", "data/<datapack>")


def test_the_openapi_description_of_events_names_every_topic():
    events = json.loads(OPENAPI.read_text())["paths"]["/events"]["get"]
    text = f"{events['summary']} {events['description']}"
    missing = [topic for topic in TOPICS if f"`{topic}`" not in text]
    assert not missing, f"openapi.json /events does not mention {missing}"


def test_the_events_websocket_docstring_names_every_topic():
    doc = inspect.getdoc(handlers.EventsWebSocket)
    assert [topic for topic in TOPICS if f"`{topic}`" not in doc] == []


async def test_the_served_document_is_the_file_and_stays_valid(nrp):
    from openapi_spec_validator import validate

    code, document, _ = await nrp.call("GET", "openapi.json")
    assert code == 200
    # Only the servers entry differs: it carries the running server's base_url.
    assert document["paths"] == json.loads(OPENAPI.read_text())["paths"]
    validate(document)
