"""`jupyter nrp run` as a real subprocess: with a private server and against a given one."""

import os
import pty
import signal
import subprocess
import time

import psutil
import pytest

from tests.cli.conftest import JUPYTER, run_cli, start_cli
from tests.notebook.client import experiments


def simulations_of(server, experiment: str) -> list[dict]:
    code, records = server.call("GET", "simulation")
    assert code == 200
    return [record for record in records if record["experimentID"] == experiment]


def read_until(process: subprocess.Popen, text: str, timeout: float = 60) -> str:
    """The output up to the first line holding `text` (the process keeps running)."""
    # Not a poll: the loop consumes the output line by line. readline blocks while the process is
    # silent, so the deadline bounds the lines read and the test's timeout a silence.
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return "".join(seen)
    raise AssertionError(f"{text!r} not printed; got:\n{''.join(seen)}")


@pytest.mark.timeout(180)
def test_the_readme_command_runs_tf_exchange_to_completion(project_dir, cli_env):
    began = time.monotonic()
    result = run_cli("run", "tf_exchange", cwd=project_dir, env=cli_env)
    elapsed = time.monotonic() - began
    assert result.returncode == 0, result.stdout + result.stderr
    progress = [line for line in result.stdout.splitlines() if line.startswith("progress:")]
    assert progress, result.stdout
    assert "simulation time 1.00 s of 1.00 s" in result.stdout  # tf_exchange's SimulationTimeout
    # A run of a tenth of a second of wall time still shows a step between 0 and 100 %.
    steps = {line.split()[1] for line in progress} - {"0%", "100%"}
    assert steps, result.stdout
    assert result.stdout.rstrip().endswith("Simulation 0 completed")
    # The stop archived the logs into the experiment's folder; the private server left nothing.
    assert list((project_dir / "experiments" / "tf_exchange").glob("*_simulation_0.log.zip"))
    assert not list((project_dir / "experiments").glob("*.sqlite"))
    print(f"jupyter nrp run tf_exchange took {elapsed:.1f} s")


@pytest.mark.timeout(120)
def test_a_failing_script_prints_file_and_line_and_exits_1(server, cli_env, tmp_path):
    result = run_cli("run", experiments.RAISES, "--url", server.url, "--token", server.token, cwd=tmp_path,
                     env=cli_env)
    assert result.returncode == 1, result.stdout + result.stderr
    where = f"main_script.py, line {experiments.RAISING_LINE}"
    assert f"{where}: ValueError: the controller diverged" in result.stdout
    assert 'raise ValueError("the controller diverged")' in result.stdout
    assert simulations_of(server, experiments.RAISES)[-1]["state"] == "stopped"


@pytest.mark.timeout(120)
def test_a_script_that_does_not_compile_fails_with_its_line(server, cli_env, tmp_path):
    result = run_cli("run", experiments.DOES_NOT_COMPILE, "--url", server.url, "--token", server.token,
                     cwd=tmp_path, env=cli_env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"Compile error in main_script.py, line {experiments.BROKEN_LINE}: SyntaxError" in result.stdout
    assert "this line is not python" in result.stdout
    assert simulations_of(server, experiments.DOES_NOT_COMPILE)[-1]["state"] == "failed"


@pytest.mark.timeout(120)
def test_timeout_stops_the_simulation_and_exits_3(server, cli_env, tmp_path):
    result = run_cli("run", experiments.RUNS_UNTIL_STOPPED, "--timeout", "6", "--url", server.url, "--token",
                     server.token, cwd=tmp_path, env=cli_env)
    assert result.returncode == 3, result.stdout + result.stderr
    assert "Timed out after 6 s" in result.stdout and "(stopped)" in result.stdout
    assert simulations_of(server, experiments.RUNS_UNTIL_STOPPED)[-1]["state"] == "stopped"


@pytest.mark.timeout(120)
def test_another_config_and_script(server, cli_env, tmp_path):
    result = run_cli("run", experiments.WITH_OTHER_SCRIPT, "--config", "simulation_config_grpc.json",
                     "--script", experiments.OTHER_SCRIPT, "--url", server.url, "--token", server.token,
                     cwd=tmp_path, env=cli_env)
    assert result.returncode == 0, result.stdout + result.stderr
    record = simulations_of(server, experiments.WITH_OTHER_SCRIPT)[-1]
    assert (record["experimentConfiguration"], record["mainScript"]) == ("simulation_config_grpc.json",
                                                                         experiments.OTHER_SCRIPT)


@pytest.mark.timeout(120)
def test_ctrl_c_stops_the_simulation_and_exits_130(server, cli_env, tmp_path):
    process = start_cli("run", experiments.RUNS_UNTIL_STOPPED, "--url", server.url, "--token", server.token,
                        cwd=tmp_path, env=cli_env)
    try:
        read_until(process, "starting it")
        read_until(process, "started")
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 130, output
    assert "Interrupted; stopping" in output
    assert simulations_of(server, experiments.RUNS_UNTIL_STOPPED)[-1]["state"] == "stopped"


@pytest.mark.timeout(180)
def test_ctrl_c_also_stops_the_private_server(project_dir, cli_env):
    experiments.add_runs_until_stopped(project_dir)
    process = start_cli("run", experiments.RUNS_UNTIL_STOPPED, cwd=project_dir, env=cli_env)
    try:
        read_until(process, "starting it", timeout=120)
        helpers = psutil.Process(process.pid).children(recursive=True)
        assert helpers, "no private server"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=90)
    finally:
        process.kill()
    assert process.returncode == 130, output
    gone, alive = psutil.wait_procs(helpers, timeout=10)
    assert not alive, [" ".join(p.cmdline()[:4]) for p in alive]


@pytest.mark.timeout(180)
def test_a_terminal_gets_a_progress_bar(project_dir, cli_env, tmp_path):
    leader, follower = pty.openpty()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    try:
        process = subprocess.Popen([JUPYTER, "nrp", "run", "tf_exchange", "--root-dir", str(project_dir)],
                                   cwd=elsewhere, env=cli_env,
                                   stdout=follower, stderr=follower, stdin=subprocess.DEVNULL)
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the terminal's last writer has gone
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=60) == 0
    finally:
        os.close(leader)
    output = b"".join(chunks).decode()
    assert f"Starting a Jupyter server for {project_dir}" in output
    assert "\r\x1b[2K[" + "#" * 30 + "] 100%" in output
    assert "progress:" not in output


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("args", "message"), [
    ((), "the following arguments are required: experiment"),
    (("tf_exchange", "--timeout", "-1"), "must be more than 0 seconds"),
    (("tf_exchange", "--timeout", "soon"), "not a number of seconds: 'soon'"),
    (("tf_exchange", "--token", "t"), "--token needs --url"),
    (("no_such_experiment",), "no experiment folder ./experiments/no_such_experiment"),
    (("tf_exchange", "--url", "localhost:8888"), "--url: not an http(s) URL of a Jupyter server"),
])
def test_bad_command_lines_exit_2(project_dir, cli_env, args, message):
    result = run_cli("run", *args, cwd=project_dir, env=cli_env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "usage: jupyter nrp run" in result.stderr


@pytest.mark.timeout(60)
def test_an_unknown_experiment_on_a_given_server(server, cli_env, tmp_path):
    result = run_cli("run", "no_such_experiment", "--url", server.url, "--token", server.token, cwd=tmp_path,
                     env=cli_env)
    assert result.returncode == 1
    assert "The experiment 'no_such_experiment' was not found" in result.stderr


@pytest.mark.timeout(60)
def test_a_wrong_token(server, cli_env, tmp_path):
    result = run_cli("run", "tf_exchange", "--url", server.url, "--token", "wrong", cwd=tmp_path, env=cli_env)
    assert result.returncode == 1
    assert "The token is wrong" in result.stderr and "HTTP 403" in result.stderr


@pytest.mark.timeout(60)
def test_an_unreachable_server(cli_env, tmp_path):
    from tests.ports import free_port

    port = free_port()
    result = run_cli("run", "tf_exchange", "--url", f"http://127.0.0.1:{port}/", cwd=tmp_path, env=cli_env)
    assert result.returncode == 1
    assert f"cannot reach the Jupyter server at http://127.0.0.1:{port}/" in result.stderr
