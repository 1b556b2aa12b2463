"""Experiment kernels on a real Jupyter Kernel Gateway (`--gateway-url`): the whole lifecycle,
runtime errors, a kernel killed on the gateway, and a stop that leaves nothing there."""

import signal
import time

import psutil
import pytest

from tests.conftest import core_processes
from tests.nrp_jupyter.mqtt_helpers import Subscriber
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)


def set_state(server, simulation_id: int, state: str) -> None:
    code, body = server.call("PUT", "simulation", str(simulation_id), "state", body={"state": state})
    assert (code, body) == (200, {"state": state})


def statuses(subscriber, simulation_id: int, after: float) -> list[dict]:
    return [message.json() for message in subscriber.received(f"nrp_simulation/{simulation_id}/status")
            if message.at > after and "state" in message.json()]


def test_tf_exchange_runs_in_a_kernel_of_the_gateway(server, gateway, root, no_leftover_processes):
    with Subscriber(f"127.0.0.1:{server.broker_port}", ["nrp_simulation/#"]) as subscriber:
        subscriber.wait_subscribed()
        code, body = server.call("POST", "simulation", body={"experimentID": "long_exchange"})
        assert (code, body["state"]) == (201, "paused"), body
        sid = body["simulationID"]

        [kernel] = gateway.kernel_processes()
        assert kernel.ppid() == gateway.process.pid
        environment = kernel.environ()
        assert environment["KERNEL_NRP_SIMULATION_ID"] == str(sid)
        assert not any(server.token in value for value in environment.values())
        # The gateway started the kernel in its own directory; the kernel moved to the simulation's.
        assert kernel.cwd() == environment["KERNEL_NRP_SIMULATION_DIR"] != str(gateway.cwd)
        kernel_tree = {process.pid for process in kernel.children(recursive=True)}
        core = core_processes(no_leftover_processes)
        assert any("NRPCoreSim" in " ".join(process.cmdline()) for process in core)
        assert {process.pid for process in core} <= kernel_tree

        set_state(server, sid, "started")
        eventually(lambda: any(s["simulationTime"] > 0 for s in statuses(subscriber, sid, 0)), 10,
                   "no status with simulation time went out")
        set_state(server, sid, "paused")
        paused_at = time.monotonic()
        # Two periodic statuses a second apart, both after the pause took effect: a step under way
        # when it arrived still ends (only the next run_loop blocks), hence the half second left out.
        def paused_statuses():
            found = [s for s in statuses(subscriber, sid, paused_at + 0.5) if s["state"] == "paused"]
            return found[-2:] if len(found) >= 2 else None

        later = eventually(paused_statuses, 10, "no periodic status while paused")
        assert later[0]["simulationTime"] == later[1]["simulationTime"] > 0
        set_state(server, sid, "started")
        eventually(lambda: statuses(subscriber, sid, paused_at)[-1]["simulationTime"]
                   > later[1]["simulationTime"], 10, "the resumed simulation does not advance")
        set_state(server, sid, "stopped")

        progress = [message.json()["progress"] for message in
                    subscriber.received(f"nrp_simulation/{sid}/status") if "progress" in message.json()]
        # The server's launch steps and the kernel's own initialisation steps, both through the gateway.
        assert {"Launching simulation", "Initializing Simulation", "Shutting down Simulation"} <= {
            p["task"] for p in progress}

    eventually(lambda: gateway.kernels() == [], 10, "the kernel is still on the gateway")
    assert not kernel.is_running()
    assert list((server.tmp_path / "simulations").iterdir()) == []
    code, logs = server.call("GET", "simulation", str(sid), "logs")
    assert code == 200
    text = "\n".join(file["content"] for file in logs["files"])
    assert "python_2 at" in text, [file["name"] for file in logs["files"]]
    assert list((root / "experiments/long_exchange").glob(f"*_simulation_{sid}.log.zip"))
    # Every message named its channel, and none went to control (spec jupyter.md 2.3).
    assert "No channel specified" not in gateway.log()


def test_two_simulations_at_once_one_streaming_data_one_with_a_runtime_error(server, gateway, root):
    with Subscriber(f"127.0.0.1:{server.broker_port}", ["nrp_simulation/#"]) as subscriber:
        subscriber.wait_subscribed()
        code, body = server.call("POST", "simulation", body={"experimentID": "tf_exchange_datatransfer"})
        assert code == 201, body
        completing = body["simulationID"]
        code, body = server.call("POST", "simulation", body={"experimentID": "raising_exchange"})
        assert code == 201, body
        raising = body["simulationID"]
        assert len(gateway.kernel_processes()) == 2
        set_state(server, completing, "started")
        set_state(server, raising, "started")

        error = subscriber.wait_for(f"nrp_simulation/{raising}/runtime_error", timeout=30).json()
        assert (error["error_type"], error["fileName"], error["line_number"]) == (
            "Runtime", "main_script.py", 3)
        assert "broken on purpose" in error["msg"]
        assert error["line_text"].strip() == 'raise ValueError("broken on purpose")'
        server.wait_state(raising, "completed", timeout=10)
        server.wait_state(completing, "completed", timeout=30)
        assert not subscriber.received(f"nrp_simulation/{completing}/runtime_error")
        # The datatransfer engine on the gateway reached the server's broker (KERNEL_NRP_MQTT_BROKER).
        assert subscriber.received(f"nrp_simulation/{completing}/data/engine_time")
        set_state(server, raising, "stopped")
        set_state(server, completing, "stopped")
    eventually(lambda: gateway.kernels() == [], 10, "kernels are still on the gateway")
    # Its file dumps, written on the gateway's side of the shared directory, were archived at stop.
    assert list((root / "experiments/tf_exchange_datatransfer").glob(f"*_simulation_{completing}_data.zip"))
    # What the kernel printed came over its websocket into the simulation's own log.
    code, logs = server.call("GET", "simulation", str(raising), "logs")
    files = {file["name"]: file["content"] for file in logs["files"]}
    assert "main script output, through the gateway" in files.get(f"simulation_{raising}.log", ""), list(files)


def test_a_kernel_killed_on_the_gateway_fails_its_simulation(server, gateway, no_leftover_processes):
    with Subscriber(f"127.0.0.1:{server.broker_port}", ["nrp_simulation/#"]) as subscriber:
        subscriber.wait_subscribed()
        code, body = server.call("POST", "simulation", body={"experimentID": "long_exchange"})
        assert code == 201, body
        sid = body["simulationID"]
        set_state(server, sid, "started")
        [kernel] = gateway.kernel_processes()
        kernel.send_signal(signal.SIGKILL)
        # The gateway restarts a dead kernel (empty) and says so on the channels: that is a death.
        server.wait_state(sid, "failed", timeout=15)
        error = subscriber.wait_for(f"nrp_simulation/{sid}/runtime_error", timeout=5).json()
        assert error["msg"] == "The experiment kernel died unexpectedly"
    # The server shut the restarted kernel down; NRPCoreSim and the engines saw their parent go.
    eventually(lambda: gateway.kernels() == [], 10, "the restarted kernel is still on the gateway")
    eventually(lambda: not core_processes(no_leftover_processes), 10, "NRPCoreSim outlived its kernel")
    code, records = server.call("GET", "simulation")
    assert [(r["simulationID"], r["state"]) for r in records] == [(sid, "failed")]


def test_stop_of_a_paused_simulation_ends_everything_on_the_gateway(server, gateway, no_leftover_processes):
    code, body = server.call("POST", "simulation", body={"experimentID": "long_exchange"})
    assert code == 201, body
    [kernel] = gateway.kernel_processes()
    assert core_processes(no_leftover_processes)
    # How long the stop takes on a gateway is measured by benchmarks/gateway.py; here, what it ends.
    set_state(server, body["simulationID"], "stopped")
    psutil.wait_procs([kernel], timeout=10)
    assert not kernel.is_running()
    assert gateway.kernels() == []
    assert list((server.tmp_path / "simulations").iterdir()) == []
