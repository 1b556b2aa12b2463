import asyncio
import logging
import signal
import socket
import time

import pytest

from nrp_jupyter.server.broker import EmbeddedBroker
from engines.mqtt.publisher import MqttPublisher

from tests.ports import free_port

from .mqtt_helpers import HOST, Subscriber, accepts_tcp


def port_of(address: str) -> int:
    return int(address.rsplit(":", 1)[1])


def pub_sub_through(address: str) -> None:
    """A paho subscriber receives what an MqttPublisher publishes, retained and not."""
    publisher = MqttPublisher(address, "broker-test")
    publisher.start()
    try:
        # Retained, published before the connection: sent on connect. Whether it reaches the
        # subscriber live or as retained depends on which connection the broker serves first.
        publisher.publish("nrp_simulation/1/data", [{"topic": "t", "type": ""}], retain=True, qos=1)
        with Subscriber(address, ["nrp_simulation/1/#"]) as subscriber:
            subscriber.wait_subscribed()
            assert subscriber.wait_for("nrp_simulation/1/data").json() == [{"topic": "t", "type": ""}]
            publisher.publish("nrp_simulation/1/status", {"state": "paused"})
            assert subscriber.wait_for("nrp_simulation/1/status").json() == {"state": "paused"}
    finally:
        publisher.stop()


@pytest.mark.timeout(20)
def test_serves_mqtt_on_the_callers_loop():
    async def scenario() -> str:
        broker = EmbeddedBroker(HOST, 0)
        # How long it takes to start is measured by benchmarks/mqtt_publisher.py.
        address = await broker.start()
        try:
            assert address == f"{HOST}:{port_of(address)}" and port_of(address) > 0
            # paho blocks, the broker needs this loop: the clients run on a worker thread.
            await asyncio.to_thread(pub_sub_through, address)
        finally:
            await broker.stop()
        return address

    address = asyncio.run(scenario())
    assert not accepts_tcp(HOST, port_of(address))


@pytest.mark.timeout(20)
def test_binds_the_requested_port_when_it_is_free():
    port = free_port()

    async def scenario() -> None:
        broker = EmbeddedBroker(HOST, port)
        assert await broker.start() == f"{HOST}:{port}"
        assert await broker.start() == f"{HOST}:{port}", "a second start() changes nothing"
        await broker.stop()

    asyncio.run(scenario())


@pytest.mark.timeout(20)
def test_port_in_use_falls_back_to_a_free_port():
    with socket.socket() as occupant:
        occupant.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        occupant.bind((HOST, 0))
        occupant.listen()
        taken = occupant.getsockname()[1]

        async def scenario() -> None:
            broker = EmbeddedBroker(HOST, taken)
            address = await broker.start()
            try:
                assert port_of(address) not in (taken, 0)
                await asyncio.to_thread(pub_sub_through, address)
            finally:
                await broker.stop()

        asyncio.run(scenario())


@pytest.mark.timeout(20)
def test_choose_port_settles_the_address_before_start():
    free = free_port()
    assert EmbeddedBroker(HOST, free).choose_port() == free
    with socket.socket() as occupant:
        occupant.bind((HOST, 0))
        occupant.listen()
        taken = occupant.getsockname()[1]
        broker = EmbeddedBroker(HOST, taken)
        chosen = broker.choose_port()
        assert chosen not in (taken, 0)

        async def scenario() -> None:
            try:
                assert await broker.start() == f"{HOST}:{chosen}"
            finally:
                await broker.stop()

        asyncio.run(scenario())


@pytest.mark.timeout(20)
def test_stop_frees_the_port_and_is_idempotent():
    async def scenario() -> None:
        first = EmbeddedBroker(HOST, 0)
        await first.stop()  # never started: nothing to do
        address = await first.start()
        try:
            await asyncio.to_thread(pub_sub_through, address)
        finally:
            await first.stop()
        await first.stop()
        assert not accepts_tcp(HOST, port_of(address))
        # The same port is free again, connections in TIME_WAIT notwithstanding.
        second = EmbeddedBroker(HOST, port_of(address))
        assert await second.start() == address
        await second.stop()

    asyncio.run(scenario())


@pytest.mark.timeout(20)
def test_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")

    async def scenario() -> None:
        broker = EmbeddedBroker("::1", 0)
        address = await broker.start()
        try:
            assert address.startswith("[::1]:")
            await asyncio.to_thread(pub_sub_through, address)
        finally:
            await broker.stop()

    asyncio.run(scenario())


@pytest.mark.timeout(20)
def test_start_prints_nothing_and_installs_no_signal_handler(capfd):
    handlers_before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}

    async def scenario() -> None:
        broker = EmbeddedBroker(HOST, 0)
        await broker.start()
        try:
            loop = asyncio.get_running_loop()
            # remove_signal_handler() says whether the loop had one.
            assert not loop.remove_signal_handler(signal.SIGINT)
            assert not loop.remove_signal_handler(signal.SIGTERM)
        finally:
            await broker.stop()

    asyncio.run(scenario())
    assert {sig: signal.getsignal(sig) for sig in handlers_before} == handlers_before
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


@pytest.fixture
def set_level():
    """Sets logger levels for one test; setLevel() also resets logging's enabled-for caches."""
    saved = {}

    def set_level(name: str, level: int) -> None:
        logger = logging.getLogger(name)
        saved.setdefault(name, logger.level)
        logger.setLevel(level)

    yield set_level
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.timeout(20)
def test_amqtt_logging_is_kept_at_warning(set_level):
    set_level("amqtt", logging.NOTSET)
    set_level("transitions.core", logging.NOTSET)
    set_level("nrp_jupyter.server.broker", logging.INFO)

    async def scenario() -> None:
        broker = EmbeddedBroker(HOST, 0)
        await broker.start()
        await broker.stop()

    asyncio.run(scenario())
    assert logging.getLogger("amqtt").level == logging.WARNING
    assert logging.getLogger("transitions.core").level == logging.WARNING


@pytest.mark.timeout(20)
def test_amqtt_logging_is_left_alone_when_debugging(set_level):
    set_level("amqtt", logging.NOTSET)
    set_level("nrp_jupyter.server.broker", logging.DEBUG)

    async def scenario() -> None:
        broker = EmbeddedBroker(HOST, 0)
        await broker.start()
        await broker.stop()

    asyncio.run(scenario())
    assert logging.getLogger("amqtt").level == logging.NOTSET


@pytest.mark.timeout(20)
def test_a_new_client_gets_only_the_retained_messages_it_subscribed_to():
    """amqtt 0.12.1 by itself sends a connecting client the retained messages of every filter any
    client subscribed to."""

    def scenario_in_thread(address: str) -> None:
        with Subscriber(address, ["other/#"]) as other:
            other.wait_subscribed()
            publisher = MqttPublisher(address, "retained-test")
            publisher.start()
            try:
                publisher.publish("other/lifecycle", {"event": "initialized"}, retain=True, qos=1)
                publisher.publish("mine/data", [], retain=True, qos=1)
                other.wait_for("other/lifecycle")
                with Subscriber(address, ["mine/data"]) as mine:
                    mine.wait_for("mine/data")
                    time.sleep(0.2)  # the behaviour under test: nothing else arrives meanwhile
                    assert [m.topic for m in mine.received()] == ["mine/data"]
            finally:
                publisher.stop()

    async def scenario() -> None:
        broker = EmbeddedBroker(HOST, 0)
        address = await broker.start()
        try:
            await asyncio.to_thread(scenario_in_thread, address)
        finally:
            await broker.stop()

    asyncio.run(scenario())


@pytest.mark.timeout(20)
def test_stop_closes_connected_and_reconnecting_clients(caplog):
    async def scenario() -> None:
        broker = EmbeddedBroker(HOST, 0)
        address = await broker.start()
        changes: asyncio.Queue[bool] = asyncio.Queue()
        loop = asyncio.get_running_loop()
        publisher = MqttPublisher(address, "closing-test",
                                  on_connection_change=lambda up: loop.call_soon_threadsafe(changes.put_nowait, up))
        publisher.start()
        assert await asyncio.wait_for(changes.get(), 5) is True
        subscriber = await asyncio.to_thread(Subscriber, address, ["#"])
        try:
            await asyncio.to_thread(subscriber.wait_subscribed)
            await broker.stop()
            # amqtt ended its sessions by itself: the stop did not have to close them by force.
            assert "did not shut down" not in caplog.text
            assert await asyncio.wait_for(changes.get(), 5) is False
            assert not accepts_tcp(HOST, port_of(address))
        finally:
            await asyncio.to_thread(subscriber.close)
            await asyncio.to_thread(publisher.stop)
            await broker.stop()

    asyncio.run(scenario())
