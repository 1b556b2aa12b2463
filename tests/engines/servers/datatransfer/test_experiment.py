"""tf_exchange_datatransfer run by NRPCoreSim standalone: the TF's numeric datapacks reach MQTT (a real
mosquitto) and the data files, one per step, with increasing values."""

import subprocess

import pytest

from nrp_protobuf import engine_grpc_pb2, nrpgenericproto_pb2, wrappers_pb2
from tests.conftest import BIN_DIR, EXPERIMENTS, copy_experiment_folder
from tests.ports import free_port

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("no_leftover_processes")]

BASE = "nrp_simulation/0"


def unpack(payload: bytes, message_type):
    message = engine_grpc_pb2.DataPackMessage.FromString(payload)
    value = message_type()
    assert message.data.Unpack(value)
    return value


def test_the_experiment_streams_and_dumps_engine_1s_time(tmp_path, core_env, mosquitto, subscriber):
    experiment = tmp_path / "tf_exchange_datatransfer"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange_datatransfer", experiment, ignore=("data",))
    result = subprocess.run([str(BIN_DIR / "NRPCoreSim"), "-c", "simulation_config.json",
                             "-o", f'EngineConfigs.2.MQTTBroker="{mosquitto.address}"'],
                            cwd=experiment, env=core_env, capture_output=True, text=True, timeout=50)
    assert result.returncode == 0, result.stderr[-3000:]
    subscriber.wait_for(f"{BASE}/welcome", lambda m: m.payload.startswith(b"Bye"))

    # SimulationTimeout 1 s at 10 ms: the TF runs at every one of the 100 syncs before the timeout.
    times = [unpack(m.payload, wrappers_pb2.DoubleValue).value for m in subscriber.received(f"{BASE}/data/engine_time")]
    assert times == pytest.approx([step / 100 for step in range(100)])
    clocks = [list(unpack(m.payload, nrpgenericproto_pb2.ArrayDouble).array)
              for m in subscriber.received(f"{BASE}/data/engine_clock")]
    assert clocks[0] == [0.0, 0.0] and clocks[-1] == pytest.approx([0.99, 0.01]) and len(clocks) == 100
    assert not subscriber.received(f"{BASE}/data/time_array")  # file only

    (run,) = list((experiment / "data").iterdir())
    engine_time = (run / "engine_time.data").read_text().splitlines()
    assert engine_time[0] == "sim_time,value" and len(engine_time) == 101
    assert engine_time[1:3] == ["0,0.0", "0.01,0.01"]
    time_array = (run / "time_array.data").read_text().splitlines()
    assert len(time_array) == 100 and time_array[-1] == "0.990000,0,0.990000,0.010000"


def test_without_a_broker_the_experiment_still_runs_and_dumps_files(tmp_path, core_env):
    experiment = tmp_path / "tf_exchange_datatransfer"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange_datatransfer", experiment, ignore=("data",))
    broker = f"127.0.0.1:{free_port()}"
    result = subprocess.run([str(BIN_DIR / "NRPCoreSim"), "-c", "simulation_config.json",
                             "-o", f'EngineConfigs.2.MQTTBroker="{broker}"'],
                            cwd=experiment, env=core_env, capture_output=True, text=True, timeout=50)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"MQTT broker {broker} (MQTTBroker) is unreachable" in result.stdout + result.stderr
    (run,) = list((experiment / "data").iterdir())
    assert len((run / "time_array.data").read_text().splitlines()) == 100
