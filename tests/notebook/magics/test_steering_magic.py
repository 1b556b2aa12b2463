"""`%nrp set`, `%nrp step` and `%nrp reset` through a real IPython shell and the session's server."""

import re

import pytest
from IPython.core.error import UsageError

pytestmark = pytest.mark.timeout(120)


def test_the_magic_sets_steps_and_resets(shell, server, capsys):
    shell.run_line_magic("nrp", "launch nest_simple")
    simulation_id = int(re.search(r"Simulation (\d+)", capsys.readouterr().out).group(1))
    shell.run_line_magic("nrp", 'set nest drive {"rate": 250.0}')
    assert re.fullmatch(rf"Simulation {simulation_id}: nest/drive queued for the next step \(ticket \d+\)",
                        capsys.readouterr().out.strip())
    shell.run_line_magic("nrp", "step 2")
    assert capsys.readouterr().out.strip() == f"Simulation {simulation_id}: paused at t=0.02 s after 2 steps"
    code, drive = server.call("GET", "simulation", str(simulation_id), "datapacks", "nest", "drive")
    assert code == 200 and drive["value"][0]["rate"] == 250.0
    shell.run_line_magic("nrp", f"reset {simulation_id}")
    assert capsys.readouterr().out.strip() == f"Simulation {simulation_id}: paused at t=0 s"
    with pytest.raises(UsageError, match="engine, a datapack and a JSON value"):
        shell.run_line_magic("nrp", "set nest drive")
    with pytest.raises(UsageError, match="not JSON"):
        shell.run_line_magic("nrp", "set nest drive {rate: 1}")
    shell.run_line_magic("nrp", f"stop {simulation_id}")
