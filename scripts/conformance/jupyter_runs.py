"""nrp-core's experiment templates (examples/templates/*) run through our Jupyter server extension.

A template is what NRP's backend launches: a simulation config plus `main_script.py`. Each in-scope
config of a template is run with `jupyter nrp run NAME --root-dir ROOT --config CONFIG`, the template
copied unchanged into ROOT/experiments/NAME; it passes when the command reports a completed run
(exit status 0).
"""

from __future__ import annotations

from .checks import Check, Outcome
from .examples import SimulationConfig
from .sandbox import Sandbox
from .simulations import left_running, resources, traceback_in

TEMPLATES = "examples/templates"
RUN_TIMEOUT_S = 120


def jupyter_run_checks(configs: list[SimulationConfig]) -> list[Check]:
    checks = []
    for config in configs:
        if config.example.parent.as_posix() != TEMPLATES or config.out_of_scope:
            continue
        checks.append(Check(name=f"jupyter-nrp-run {config.label}", run=_runner(config),
                            resources=resources(config), timeout_s=RUN_TIMEOUT_S + 60))
    return checks


def _runner(config: SimulationConfig):
    def run(sandbox: Sandbox) -> Outcome:
        name = config.example.name
        root = sandbox.folder / "root"
        (root / "experiments").mkdir(parents=True)
        sandbox.copy(config.source, f"root/experiments/{name}")
        env = dict(sandbox.env)
        # The private server's connection files stay in the check's folder.
        env["JUPYTER_RUNTIME_DIR"] = str(sandbox.folder / "tmp" / "jupyter-runtime")
        # ... and the experiment kernel's IPython profile and history.
        env["IPYTHONDIR"] = str(sandbox.folder / "tmp" / "ipython")
        jupyter = str(sandbox.repo / ".venv" / "bin" / "jupyter")
        command = [jupyter, "nrp", "run", name, "--root-dir", str(root), "--timeout", str(RUN_TIMEOUT_S),
                   "--config", config.file]
        completed = sandbox.run(command, cwd=root, timeout_s=RUN_TIMEOUT_S + 45, env=env)
        if completed.timed_out:
            return Outcome.failed(f"jupyter nrp run did not exit\n{completed.tail()}")
        if completed.returncode != 0:
            return Outcome.failed(f"jupyter nrp run exited {completed.returncode}\n{completed.tail(25)}")
        problem = traceback_in(completed.output)
        if problem:
            return Outcome.failed(f"traceback in the output: {problem.splitlines()[-1]}\n{problem}")
        return left_running(sandbox) or Outcome.passed()

    return run
