"""`NrpJupyterApp.kernel_mqtt_broker`: the broker address experiment kernels and their engines are
given, when they reach the broker differently from the server (kernels on a gateway, engines on
other machines). Two real mosquittos stand for the two addresses: the server's status goes to its
own, the datatransfer engine's stream to the kernels'."""


import pytest

from tests.nrp_jupyter.conftest import wait_message
from tests.nrp_jupyter.mqtt_helpers import Mosquitto, Subscriber, mosquitto_executable

pytestmark = pytest.mark.timeout(120)

EXPERIMENT = "tf_exchange_datatransfer"


@pytest.fixture
def kernel_broker(tmp_path):
    broker = Mosquitto(mosquitto_executable(), tmp_path / "kernel-mosquitto.log")
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def nrp_config(kernel_broker):
    return {"kernel_mqtt_broker": kernel_broker.address}


@pytest.mark.usefixtures("datatransfer_experiment")
async def test_engines_stream_to_the_kernels_broker_and_the_server_publishes_on_its_own(
        nrp, subscriber, kernel_broker):
    with Subscriber(kernel_broker.address, ["nrp_simulation/#"]) as on_kernel_broker:
        on_kernel_broker.wait_subscribed()
        code, record, _ = await nrp.launch(EXPERIMENT)
        assert code == 201, record
        simulation_id = record["simulationID"]
        assert (await nrp.put_state(simulation_id, "started"))[0] == 200
        await nrp.wait_state(simulation_id, "completed", timeout=60)

        base = f"nrp_simulation/{simulation_id}"
        # Sent before the completion; datapacks are protobuf, not JSON.
        assert on_kernel_broker.received(f"{base}/data/engine_time")
        await wait_message(subscriber, f"{base}/status", lambda status: status.get("state") == "completed")
        assert not [message for message in subscriber.received() if "/data/" in message.topic]
        assert not on_kernel_broker.received(f"{base}/status")
        assert (await nrp.put_state(simulation_id, "stopped"))[0] == 200
