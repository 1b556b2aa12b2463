"""Experiments and brokers of the server extension's tests. The in-process server with the extension
(`jp_server_config`, `nrp`, `broker`, `subscriber`, `experiments_root`) is in tests/conftest.py, which
the security tests share."""

import pytest

from nrp_jupyter.server.broker import EmbeddedBroker
from tests.conftest import EXPERIMENTS, copy_experiment_folder
from tests.nrp_jupyter.mqtt_helpers import (HOST, Amqtt, BackgroundLoop, Mosquitto, Received,
                                          mosquitto_executable)
from tests.waiting import eventually_async


def experiment_variant(experiments_root, name: str, **files: str) -> str:
    """A copy of tf_exchange named `name` in the storage, with `files` (name with `.` as `_`, e.g.
    engine_1_py=...) replaced; returns its experiment id."""
    target = experiments_root / name
    copy_experiment_folder(experiments_root / "tf_exchange", target)
    for file_key, text in files.items():
        stem, _, suffix = file_key.rpartition("_")
        (target / f"{stem}.{suffix}").write_text(text)
    return name


@pytest.fixture
def datatransfer_experiment(experiments_root):
    """tf_exchange_datatransfer in the server's storage, without what earlier runs left in it."""
    folder = experiments_root / "tf_exchange_datatransfer"
    copy_experiment_folder(EXPERIMENTS / folder.name, folder, ignore=("*.log*", "*.zip", "data"))
    return folder


async def wait_message(subscriber, topic, predicate=None, timeout=5.0, after=0.0):
    """The first message on `topic` received after `after` (time.monotonic()) that satisfies
    `predicate`. Polls without blocking: the server under test shares this event loop."""

    def matching() -> Received | None:  # the message, not its JSON, which may be empty (false)
        for message in subscriber.received(topic):
            if message.at >= after and (predicate is None or predicate(message.json())):
                return message
        return None

    def last_seen() -> str:
        return f"no matching message on {topic}; last: {[m.payload[:100] for m in subscriber.received(topic)][-5:]}"

    return (await eventually_async(matching, timeout, last_seen)).json()


@pytest.fixture
def background_loop():
    loop = BackgroundLoop()
    yield loop
    loop.close()


@pytest.fixture
def amqtt_broker(background_loop):
    """The embedded amqtt broker (`EmbeddedBroker(port=0)`) on a loop in a background thread."""
    broker = EmbeddedBroker(HOST, 0)
    address = background_loop.run(broker.start())
    yield address
    background_loop.run(broker.stop())


@pytest.fixture(params=["mosquitto", "amqtt"])
def any_broker(request, tmp_path):
    """A broker of each kind, NOT started: tests call `start()`, `kill()`, `restart()` themselves."""
    if request.param == "mosquitto":
        broker = Mosquitto(mosquitto_executable(), tmp_path / "mosquitto.log")
        yield broker
        broker.stop()
    else:
        loop = BackgroundLoop()
        broker = Amqtt(loop)
        yield broker
        broker.stop()
        loop.close()


@pytest.fixture
def running_broker(any_broker):
    """`any_broker`, started."""
    any_broker.start()
    return any_broker
