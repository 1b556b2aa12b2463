"""`steering_probe`: an experiment whose engine says what it received, for the steering, step and
reset tests. Engine `probe` takes the steerable JSON datapack `command` ({"gain": ...}) and offers
`seen`: every change of the gain it saw, as [engine time at the step's start (ns), gain], and the
number of steps it ran. Its reset brings both back to their initial values."""

import json
import pathlib

PROBE_ENGINE = '''
import time
from nrp_core.engines.python_json import EngineScript


class Script(EngineScript):
    def initialize(self):
        self._registerDataPack("command")
        self._registerDataPack("seen")
        self._start()

    def _start(self):
        self._setDataPack("command", {"gain": 0})
        self._setDataPack("seen", {"changes": [], "steps": 0})

    def runLoop(self, timestep_ns):
        time.sleep(STEP_SLEEP_S)
        gain = (self._getDataPack("command") or {}).get("gain")
        seen = self._getDataPack("seen")
        changes = seen["changes"]
        if not changes or changes[-1][1] != gain:
            # The engine's clock has already moved to the step's end here.
            changes = changes + [[self._time_ns - timestep_ns, gain]]
        self._setDataPack("seen", {"changes": changes, "steps": seen["steps"] + 1})

    def reset(self):
        RESET_BODY
        self._start()
'''

STEERING = {"controls": [{"engine": "probe", "datapack": "command", "field": "gain", "kind": "slider",
                          "range": [-10, 10], "step": 0.5, "label": "Gain"}]}

# One run_loop per step until the timeout, or one long run_loop.
STEP_BY_STEP = """
try:
    while True:
        nrp.run_loop(1)
except NRPSimulationTimeout:
    pass
"""
ONE_LONG_CALL = "nrp.run_loop(LONG_STEPS)\n"


def add_steering_probe(root: pathlib.Path, name: str = "steering_probe", *, main: str = STEP_BY_STEP,
                       long_steps: int = 400, step_sleep_s: float = 0.002, refuse_reset: bool = False,
                       steering: dict | None = STEERING) -> str:
    """Writes the experiment into the storage folder `root`; returns its id."""
    folder = root / name
    folder.mkdir(parents=True)
    reset_body = "raise RuntimeError('this engine cannot be reset')" if refuse_reset else "pass"
    (folder / "probe_engine.py").write_text(PROBE_ENGINE.replace("STEP_SLEEP_S", repr(step_sleep_s))
                                            .replace("RESET_BODY", reset_body))
    (folder / "main_script.py").write_text(main.replace("LONG_STEPS", str(long_steps)))
    config = {"SimulationName": name, "SimulationTimeout": 20, "SimulationTimestep": 0.01,
              "EngineConfigs": [{"EngineType": "python_json", "EngineName": "probe",
                                 "PythonFileName": "probe_engine.py", "EngineTimestep": 0.01}]}
    (folder / "simulation_config.json").write_text(json.dumps(config, indent=1))
    if steering is not None:
        (folder / "steering.json").write_text(json.dumps(steering, indent=1))
    return name
