"""Every `%nrp` subcommand through a real IPython shell and a real server."""

import re

import pytest
from IPython.core.error import UsageError

from nrp_jupyter.notebook.magics import NrpCommandError, NrpMagics
from tests.notebook.client import experiments

pytestmark = pytest.mark.timeout(120)


def nrp(shell, line: str):
    return shell.run_line_magic("nrp", line)


def last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def launched_id(capsys) -> int:
    match = re.fullmatch(r"Simulation (\d+) of \S+ launched: paused", last_line(capsys))
    assert match
    return int(match.group(1))


def test_launch_and_control_the_last_launched(shell, server, capsys):
    nrp(shell, f"launch {experiments.RUNS_UNTIL_STOPPED}")
    simulation_id = launched_id(capsys)
    for command, state in (("start", "started"), ("pause", "paused"), ("resume", "started")):
        nrp(shell, command)
        assert last_line(capsys) == f"Simulation {simulation_id}: {state}"
        assert server.call("GET", "simulation", str(simulation_id), "state")[1]["state"] == state
    nrp(shell, "status")
    assert last_line(capsys) == (f"Simulation {simulation_id}: started ({experiments.RUNS_UNTIL_STOPPED}, "
                                 f"config simulation_config.json, script main_script.py, owner "
                                 f"{server.call('GET', 'simulation', str(simulation_id))[1]['owner']})")
    nrp(shell, "stop")
    assert last_line(capsys) == f"Simulation {simulation_id}: stopped"


def test_launch_returns_the_simulation_and_a_semicolon_hides_it(shell, server, capsys):
    simulation = nrp(shell, "launch tf_exchange")
    assert simulation.id == launched_id(capsys)
    assert simulation.state == "paused"
    result = shell.run_cell("%nrp launch tf_exchange;")
    assert result.success and result.result is None
    hidden = launched_id(capsys)
    assert hidden == simulation.id + 1
    for simulation_id in (simulation.id, hidden):
        server.call("PUT", "simulation", str(simulation_id), "state", body={"state": "stopped"})


def test_commands_with_an_explicit_id(shell, server, capsys):
    nrp(shell, "launch tf_exchange")
    first = launched_id(capsys)
    nrp(shell, f"launch {experiments.RUNS_UNTIL_STOPPED}")
    second = launched_id(capsys)
    nrp(shell, f"start {first}")
    assert last_line(capsys) == f"Simulation {first}: started"
    server.wait_state(first, "completed", timeout=60)
    nrp(shell, f"logs {first}")
    logs = capsys.readouterr().out
    assert f"==> main_script_{first}.log <==" in logs and "NRPSimulationTimeout reached in script" in logs
    nrp(shell, f"stop {first}")
    assert last_line(capsys) == f"Simulation {first}: stopped"
    # The default is still the last launched.
    nrp(shell, "status")
    assert last_line(capsys).startswith(f"Simulation {second}: paused")
    nrp(shell, "stop")


def test_launch_with_another_config_and_script(shell, server, capsys):
    nrp(shell, f"launch {experiments.WITH_OTHER_SCRIPT} --config simulation_config_grpc.json "
               f"--script {experiments.OTHER_SCRIPT}")
    simulation_id = launched_id(capsys)
    nrp(shell, "status")
    assert f"config simulation_config_grpc.json, script {experiments.OTHER_SCRIPT}" in last_line(capsys)
    nrp(shell, f"stop {simulation_id}")


def test_list(shell, server, capsys):
    nrp(shell, "launch tf_exchange")
    simulation_id = launched_id(capsys)
    nrp(shell, "list")
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["ID", "experiment", "state", "owner", "created"]
    row = next(line.split() for line in lines[1:] if line.split()[0] == str(simulation_id))
    assert row[1:3] == ["tf_exchange", "paused"]
    # The creation time with its offset, as REST carries it (NRP's Europe/Zurich time).
    created = server.call("GET", "simulation", str(simulation_id))[1]["creationDate"]
    assert " ".join(row[-2:]) == created[:19].replace("T", " ") + created[-6:]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", " ".join(row[-2:]))
    nrp(shell, "stop")


def test_logs_of_a_paused_simulation_show_nrpcoresims_log(shell, capsys):
    nrp(shell, f"launch {experiments.RUNS_UNTIL_STOPPED}")
    simulation_id = launched_id(capsys)
    nrp(shell, "logs")
    out = capsys.readouterr().out
    assert out.startswith(f"==> nrpcore_{simulation_id}.log <==")
    assert "NrpCore server listening" in out
    nrp(shell, "stop")


def test_connect(shell, server, capsys, monkeypatch):
    monkeypatch.delenv("JUPYTER_SERVER_URL")
    nrp(shell, f"connect {server.url} --token {server.token}")
    assert re.fullmatch(rf"Connected to {re.escape(server.url)} \(nrp_jupyter \S+\)", last_line(capsys))
    nrp(shell, "list")
    assert capsys.readouterr().out


def test_connect_with_a_wrong_token_keeps_the_old_connection(shell, server, capsys):
    nrp(shell, "list")
    before = capsys.readouterr().out
    with pytest.raises(NrpCommandError, match="The token is wrong"):
        nrp(shell, f"connect {server.url} --token wrong")
    nrp(shell, "list")
    assert capsys.readouterr().out == before and before


def test_discovery_through_the_running_server_file(shell, server, capsys, monkeypatch):
    monkeypatch.delenv("JUPYTER_SERVER_URL")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(server.tmp_path / "runtime"))
    monkeypatch.setenv("JPY_PARENT_PID", str(server.process.pid))
    nrp(shell, "list")
    assert capsys.readouterr().out


def test_no_server_is_one_clear_line(shell, monkeypatch, tmp_path):
    monkeypatch.delenv("JUPYTER_SERVER_URL")
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path))
    with pytest.raises(NrpCommandError, match="no running Jupyter server found"):
        nrp(shell, "list")


@pytest.mark.parametrize(("line", "message"), [
    ("", "the following arguments are required"),
    ("explode", "invalid choice: 'explode'"),
    ("launch", "%nrp launch needs an experiment"),
    ("connect", "%nrp connect needs a server URL"),
    ("connect localhost:8888", "not an http(s) URL"),
    ("list 3", "%nrp list takes no argument"),
    ("start abc", "a simulation ID is a number, not 'abc'"),
    ("start -1", "a simulation ID is a number, not '-1'"),
    ("stop", "no simulation launched from this kernel yet"),
    ("stop 1 --config x.json", "--config is an option of %nrp launch, not of %nrp stop"),
    ("launch tf_exchange --token t", "--token is an option of %nrp connect, not of %nrp launch"),
    ("status 1 2", "unrecognized arguments: 2"),
    ("launch tf_exchange --speed 2", "unrecognized arguments: --speed 2"),
])
def test_bad_arguments_are_usage_errors(shell, line, message):
    with pytest.raises(UsageError) as caught:
        nrp(shell, line)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value).strip()


@pytest.mark.parametrize(("line", "message"), [
    ("start 987654", "The simulation with the given ID was not found (HTTP 404"),
    ("launch no_such_experiment", "The experiment 'no_such_experiment' was not found"),
    ("launch tf_exchange --script missing.py", "mainScript: missing.py not found in experiment tf_exchange"),
])
def test_server_errors_are_one_line(shell, capsys, line, message):
    result = shell.run_cell(f"%nrp {line}")
    assert isinstance(result.error_in_exec, NrpCommandError)
    shown = capsys.readouterr()
    text = (shown.out + shown.err).strip()
    assert text.startswith("NrpError: ") and message in text
    assert "Traceback" not in text and len(text.splitlines()) == 1


def test_illegal_transition_is_one_line(shell, capsys):
    nrp(shell, f"launch {experiments.RUNS_UNTIL_STOPPED}")
    launched_id(capsys)
    nrp(shell, "stop")
    capsys.readouterr()
    shell.run_cell("%nrp start")
    text = capsys.readouterr().out.strip()
    magics = shell.magics_manager.registry["NrpMagics"]
    request = f"PUT {magics.connection.url}nrp/simulation/{magics.last_simulation_id}/state"
    assert text == ("NrpError: The state transition is invalid (The simulation requested is finalized) "
                    f"(HTTP 400, {request})")


def test_a_bad_argument_in_a_cell_is_one_line(shell, capsys):
    shell.run_cell("%nrp explode")
    shown = capsys.readouterr()
    text = (shown.out + shown.err).strip()
    assert text.startswith("UsageError: ") and len(text.splitlines()) == 1


def test_help_lists_every_subcommand(shell):
    help_text = shell.find_line_magic("nrp").__doc__
    for action in ("list", "launch", "start", "pause", "resume", "stop", "status", "logs", "panel", "connect",
                   "--config", "--script", "--token"):
        assert action in help_text
    assert help_text.startswith("::\n\n  %nrp [--config FILE]")
    assert "ID defaults to the simulation launched last" in help_text


def test_help_through_the_question_mark(shell, capsys):
    shell.run_cell("%nrp?")
    shown = capsys.readouterr().out
    assert "%nrp [--config FILE]" in shown and "%nrp connect URL" in shown


def test_unload_removes_the_magic(shell):
    shell.run_line_magic("unload_ext", "nrp_jupyter")
    assert shell.find_line_magic("nrp") is None
    assert "NrpMagics" not in shell.magics_manager.registry
    shell.run_line_magic("load_ext", "nrp_jupyter")
    assert isinstance(shell.magics_manager.registry["NrpMagics"], NrpMagics)


def test_status_tells_the_last_runtime_error(shell, server, capsys):
    experiment = experiments.add_raises(server.root)
    simulation = nrp(shell, f"launch {experiment}")
    nrp(shell, "start")
    simulation.wait_until("completed", timeout=60)
    capsys.readouterr()
    nrp(shell, "status")
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"Simulation {simulation.id}: completed")
    assert lines[1] == (f"  last runtime error (Runtime) in main_script.py, line {experiments.RAISING_LINE}: "
                        f"{simulation.details()['runtimeError']['msg']}")
    assert "the controller diverged" in lines[1]
    nrp(shell, "stop")
