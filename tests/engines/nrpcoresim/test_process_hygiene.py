"""Nothing is left running: no NRPCoreSim, no engine, no listening port, however a run ends."""

import os
import signal
import subprocess
import sys
import textwrap
import threading

import psutil
import pytest

from engines.nrpcore_client import NrpCore
from tests.conftest import EXPERIMENTS, REPO, TEST_MARKER_VARIABLE, core_processes
from tests.ports import free_port
from tests.waiting import eventually

pytestmark = [pytest.mark.timeout(60)]


def listening_ports(processes) -> set[int]:
    ports = set()
    for process in processes:
        try:
            ports |= {c.laddr.port for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        except psutil.NoSuchProcess:
            continue
    return ports


def ports_held_by_test(marker: str) -> set[int]:
    """Ports listened on by any live process this test started, whatever its command: its environment
    carries the test's marker. Other processes on the machine may take the same port numbers as soon
    as they are free (engines' default ports among them), so they do not count."""
    held = set()
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get(TEST_MARKER_VARIABLE) == marker:
                held |= {c.laddr.port for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return held


def engine_processes(marker: str) -> list[psutil.Process]:
    return [p for p in core_processes(marker) if "NRPCoreSim" not in " ".join(p.info["cmdline"])]


@pytest.mark.parametrize("config", ["simulation_config.json", "simulation_config_grpc.json"])
def test_after_a_normal_shutdown_no_process_or_port_is_left(config, no_leftover_processes, tmp_path):
    client = NrpCore(f"localhost:{free_port()}", experiment_folder=str(EXPERIMENTS / "tf_exchange"),
                     config_file=config, log_output=str(tmp_path / "nrp.log"))
    client.initialize()
    client.run_loop(5)
    processes = core_processes(no_leftover_processes)
    ports = listening_ports(processes)
    assert len(processes) == 3 and len(ports) >= 3  # NRPCoreSim (+ registration) and two engines

    client.shutdown()

    assert not [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert not ports & ports_held_by_test(no_leftover_processes)


DRIVER = textwrap.dedent("""
    import sys, time
    from engines.nrpcore_client import NrpCore
    client = NrpCore(sys.argv[1], experiment_folder=sys.argv[2], config_file=sys.argv[3], log_output=sys.argv[4])
    client.initialize()
    client.run_loop(3)
    print("running", flush=True)
    time.sleep(600)
""")


@pytest.mark.parametrize("config", ["simulation_config.json", "simulation_config_grpc.json"])
def test_a_client_killed_with_sigkill_takes_nrpcoresim_and_engines_with_it(config, no_leftover_processes, tmp_path):
    driver = subprocess.Popen([sys.executable, "-c", DRIVER, f"localhost:{free_port()}",
                               str(EXPERIMENTS / "tf_exchange"), config, str(tmp_path / "nrp.log")],
                              cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert driver.stdout.readline().strip() == "running"
        processes = core_processes(no_leftover_processes)
        ports = listening_ports(processes)
        assert len(processes) == 3

        driver.send_signal(signal.SIGKILL)
        driver.wait()

        eventually(lambda: not core_processes(no_leftover_processes), 3.0, "NRPCoreSim and engines exit")
        assert not ports & ports_held_by_test(no_leftover_processes)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        driver.stdout.close()


@pytest.mark.parametrize("config", ["simulation_config.json", "simulation_config_grpc.json"])
def test_an_engine_crashing_mid_run_fails_the_request_naming_it_and_shutdown_cleans_up(
        config, no_leftover_processes, tmp_path):
    client = NrpCore(f"localhost:{free_port()}", experiment_folder=str(EXPERIMENTS / "tf_exchange"),
                     config_file=config, log_output=str(tmp_path / "nrp.log"))
    outcome = {}

    def run():
        try:
            client.run_loop(100_000)
        except Exception as error:  # noqa: BLE001 (the test inspects it)
            outcome["error"] = error

    try:
        client.initialize()
        victim = next(p for p in engine_processes(no_leftover_processes)
                      if "--engine=python_2" in p.info["cmdline"])
        runner = threading.Thread(target=run)
        runner.start()
        # Mid-run: python_2 has stepped (it prints at every step, into NRPCoreSim's log).
        log = tmp_path / "nrp.log"
        eventually(lambda: "python_2 at" in log.read_text(errors="replace"), 30, "python_2 stepping")
        victim.kill()
        runner.join(timeout=10)
        assert not runner.is_alive()

        message = str(outcome.get("error"))
        assert isinstance(outcome.get("error"), RuntimeError), message
        assert 'Engine "python_2"' in message and "exited with status -9" in message
        assert client.current_state() == "Failed"
    finally:
        client.shutdown()
    eventually(lambda: not core_processes(no_leftover_processes), 3.0, "everything exits after shutdown")
