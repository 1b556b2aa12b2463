"""Warm experiment kernels (NrpJupyterApp.warm_kernels), with real kernels through a real server: a
launch takes a waiting kernel and the pool refills, no two simulations share a kernel, a kernel that
died waiting is not handed out, the server's shutdown ends them all, and what a simulation starts
still carries its marker, so that the sweep of detached processes works with warm kernels too."""

import asyncio
import pathlib
import re
import signal

import psutil
import pytest

from kernel_ext.protocol import Env
from tests.conftest import EXPERIMENTS
from tests.live_server import LiveServer, experiments_root
from tests.nrp_jupyter.test_escapees import assert_gone, daemon_pid, write_experiment
from tests.waiting import eventually, eventually_async

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def nrp_config(request):
    return {"warm_kernels": getattr(request, "param", 2)}


@pytest.fixture
def pool(jp_serverapp):
    return jp_serverapp.web_app.settings["nrp_kernel_pool"]


@pytest.fixture
def service(jp_serverapp):
    return jp_serverapp.web_app.settings["nrp_simulations"]


async def full(pool, size=None):
    """The pool's waiting kernels, once it holds `size` (its size by default)."""
    wanted = pool.size if size is None else size
    await eventually_async(lambda: len(pool.ready_kernel_ids) == wanted, 60,
                           lambda: f"{wanted} warm kernels (ready: {pool.ready_kernel_ids})")
    return list(pool.ready_kernel_ids)


def kernel_pid(jp_serverapp, kernel_id):
    return jp_serverapp.kernel_manager.get_kernel(kernel_id).provisioner.pid


async def test_a_launch_takes_a_warm_kernel_and_the_pool_refills(nrp, pool, service, jp_serverapp):
    waiting = await full(pool)

    code, record, _ = await nrp.launch()

    assert code == 201 and record["state"] == "paused", record
    simulation = service.get(record["simulationID"])
    assert simulation.kernel_id == waiting[0]
    # The bootstrap brought the settings: NRPCoreSim carries the simulation's marker and runs there.
    core = psutil.Process(simulation.nrpcoresim_pid)
    assert core.environ()[Env.SIMULATION_DIR] == simulation.simulation_dir
    refilled = await full(pool)
    assert simulation.kernel_id not in refilled and waiting[1] in refilled
    assert (await nrp.put_state(record["simulationID"], "started"))[0] == 200
    await nrp.wait_state(record["simulationID"], "completed")
    assert (await nrp.put_state(record["simulationID"], "stopped"))[0] == 200
    # The taken kernel ended with its simulation; the waiting ones wait on.
    assert sorted(jp_serverapp.kernel_manager.list_kernel_ids()) == sorted(refilled)


@pytest.mark.parametrize("nrp_config", [1], indirect=True)
async def test_two_simulations_never_share_a_kernel(nrp, pool, service, jp_serverapp):
    await full(pool)

    launched = await asyncio.gather(nrp.launch(), nrp.launch(), nrp.launch("status_function"))

    assert [code for code, _, _ in launched] == [201, 201, 201], launched
    kernels = [service.get(record["simulationID"]).kernel_id for _, record, _ in launched]
    assert len(set(kernels)) == 3
    assert not set(kernels) & set(await full(pool))
    for _, record, _ in launched:
        assert (await nrp.put_state(record["simulationID"], "stopped"))[0] == 200
    assert not set(kernels) & set(jp_serverapp.kernel_manager.list_kernel_ids())


@pytest.mark.parametrize("nrp_config", [1], indirect=True)
async def test_a_warm_kernel_that_died_is_not_handed_out(nrp, pool, service, jp_serverapp):
    (dead,) = await full(pool)
    process = psutil.Process(kernel_pid(jp_serverapp, dead))
    process.kill()
    await asyncio.to_thread(process.wait, 10)

    code, record, _ = await nrp.launch()

    assert code == 201 and record["state"] == "paused", record
    assert service.get(record["simulationID"]).kernel_id != dead
    (replacement,) = await full(pool)
    assert replacement != dead
    assert dead not in jp_serverapp.kernel_manager.list_kernel_ids()
    assert (await nrp.put_state(record["simulationID"], "stopped"))[0] == 200


# A real server process: its shutdown, and the sweep of what a simulation detached.

@pytest.fixture
def server(tmp_path):
    # Simulation and pool directories under tmp_path: a server killed by a test cannot remove its own.
    running = LiveServer(experiments_root(tmp_path / "root", EXPERIMENTS, names=("tf_exchange",)), tmp_path,
                         extra_args=("--NrpJupyterApp.warm_kernels=2",
                                     f"--NrpJupyterApp.simulations_dir={tmp_path / 'simulations'}")).start()
    yield running
    running.close()


def kernel_processes(server) -> list[psutil.Process]:
    return [child for child in psutil.Process(server.process.pid).children(recursive=True)
            if "ipykernel_launcher" in " ".join(child.cmdline())]


def wait_warm(server, count: int) -> None:
    """Until the server's log says `count` kernels have been made ready since it started."""
    def ready() -> int:
        return len(re.findall(r"kernel pool: kernel \S+ ready", server.log_path.read_text()))

    eventually(lambda: ready() >= count, 60, lambda: f"{count} warm kernels made ready (so far {ready()})")


def started_cold(server) -> list[psutil.Process]:
    """Kernels started with a simulation's variables in their environment: not warm ones."""
    return [kernel for kernel in kernel_processes(server) if Env.SIMULATION_ID in kernel.environ()]


def test_the_servers_shutdown_leaves_no_kernel(server):
    wait_warm(server, 2)
    code, record = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
    assert code == 201, record
    # The taken kernel and two waiting ones.
    wait_warm(server, 3)
    kernels = kernel_processes(server)
    assert len(kernels) == 3 and not started_cold(server)
    # Warm kernels are experiment kernels too: the server's token is not theirs.
    assert not any(server.token in value for kernel in kernels for value in kernel.environ().values())

    server.stop(signal.SIGTERM)

    _, alive = psutil.wait_procs(kernels, timeout=10)
    assert not alive, [process.pid for process in alive]


@pytest.mark.parametrize("spawner", ["main script", "engine"])
def test_a_detached_daemon_ends_with_the_stop_of_a_simulation_in_a_warm_kernel(server, tmp_path, spawner):
    pid_file = tmp_path / "daemon.pid"
    write_experiment(server.root / "experiments" / "detaching", pid_file, spawner)
    wait_warm(server, 2)
    code, answer = server.call("POST", "simulation", body={"experimentID": "detaching"})
    assert code == 201, answer
    assert not started_cold(server)
    simulation_id = answer["simulationID"]
    assert server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "started"})[0] == 200
    pid = daemon_pid(pid_file)
    try:
        code, answer = server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "stopped"})

        assert (code, answer) == (200, {"state": "stopped"})
        assert_gone(pid, within_s=1.0)
    finally:
        if psutil.pid_exists(pid):
            psutil.Process(pid).kill()


def test_a_detached_daemon_ends_with_the_recovery_after_a_crash_of_a_server_with_warm_kernels(server, tmp_path):
    pid_file = tmp_path / "daemon.pid"
    write_experiment(server.root / "experiments" / "detaching", pid_file, "main script")
    wait_warm(server, 2)
    code, answer = server.call("POST", "simulation", body={"experimentID": "detaching"})
    assert code == 201, answer
    assert not started_cold(server)
    server.call("PUT", "simulation", str(answer["simulationID"]), "state", body={"state": "started"})
    pid = daemon_pid(pid_file)
    try:
        server.stop(signal.SIGKILL)
        server.start()

        assert_gone(pid, within_s=2.0)
        assert server.call("GET", "simulation", str(answer["simulationID"]))[1]["state"] == "failed"
    finally:
        if psutil.pid_exists(pid):
            psutil.Process(pid).kill()


# Warm kernels on a kernel gateway: started there ahead, taken and ended through its REST API.

@pytest.fixture
def gateway(tmp_path, no_leftover_processes):
    from tests.gateway.gateway import KernelGateway

    gateway = KernelGateway(tmp_path).start()
    yield gateway
    gateway.stop()


def test_a_launch_takes_a_warm_kernel_of_the_gateway(tmp_path, gateway, no_leftover_processes):
    from tests.conftest import core_processes
    from tests.gateway.gateway import gateway_server

    root = experiments_root(tmp_path / "root", EXPERIMENTS, names=("tf_exchange",))
    server = gateway_server(root, tmp_path, gateway.url, "--NrpJupyterApp.warm_kernels=1").start()
    try:
        wait_warm(server, 1)
        [waiting] = gateway.kernel_processes()
        code, record = server.call("POST", "simulation", body={"experimentID": "tf_exchange"})
        assert (code, record["state"]) == (201, "paused"), record

        # The warm kernel moved to the simulation directory; what it started carries the marker.
        simulation_dir = waiting.cwd()
        assert pathlib.Path(simulation_dir).name.startswith(f"nrp.{record['simulationID']}.")
        core = core_processes(no_leftover_processes)
        assert core and all(process.environ()[Env.SIMULATION_DIR] == simulation_dir for process in core)
        assert {process.pid for process in core} <= {child.pid for child in waiting.children(recursive=True)}
        sid = str(record["simulationID"])
        assert server.call("PUT", "simulation", sid, "state", body={"state": "started"})[0] == 200
        server.wait_state(record["simulationID"], "completed")
        assert server.call("PUT", "simulation", sid, "state", body={"state": "stopped"})[0] == 200
        psutil.wait_procs([waiting], timeout=10)
        assert not waiting.is_running()
        eventually(lambda: len(gateway.kernel_processes()) == 1, 60, "the pool refilled on the gateway")
    finally:
        server.close()
    eventually(lambda: not gateway.kernel_processes(), 10, "no kernel left on the gateway")
