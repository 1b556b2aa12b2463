"""The ScriptHost of a nest_json engine: its script is the brain file named by NestInitFileName.

Everything but initialize is the python_json engine's host: one call at a time, nrp-core's
time accounting (here NEST's clock), reset and shutdown, and failure messages that name the
brain file and line.
"""

from engines.nest.brain_script import BrainScript
from engines.servers.script_host import TIME_RATIO, EngineStateError, ScriptHost


class BrainHost(ScriptHost):
    """The brain of one nest_json engine process, from initialize to shutdown."""

    def __init__(self, engine_name: str):
        super().__init__(engine_name, BrainScript)

    def initialize(self, config: dict) -> None:
        with self._lock:
            if self._shut_down:
                raise EngineStateError("initialize after shutdown")
            if self._script is not None:
                raise EngineStateError("the engine is already initialized")
            if not isinstance(config, dict):
                raise ValueError(f"the initialize request must be the engine config object, got {config!r}")
            if config.get("TimeRatio") != TIME_RATIO:
                raise ValueError(f"TimeRatio must be {TIME_RATIO} (integer nanoseconds), "
                                 f"got {config.get('TimeRatio')!r}")
            brain_file = config.get("NestInitFileName")
            if not isinstance(brain_file, str) or not brain_file:
                raise ValueError("the engine config has no NestInitFileName")
            seed = config.get("NestRNGSeed", 0)
            if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
                raise ValueError(f"NestRNGSeed must be an integer in [0, 2^32), got {seed!r}")
            # Failure messages locate errors in this file (see describe_failure).
            self._python_file = brain_file
            script = BrainScript(brain_file)
            script._name = self.engine_name
            script._config = config
            script.initialize()
            self._script = script
