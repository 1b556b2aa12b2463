"""The ScriptHost of a nest_json engine: its script is the brain file named by NestInitFileName.

Everything but loading the script is the python_json engine's host: the checks of the initialize
request, one call at a time, nrp-core's time accounting (here NEST's clock), reset and shutdown,
and failure messages that name the brain file and line.
"""

from engines.servers.nest.brain_script import BrainScript
from engines.servers.script.script_base import ScriptBase
from engines.servers.script.script_host import ScriptHost


class BrainHost(ScriptHost):
    """The brain of one nest_json engine process, from initialize to shutdown.

    Takes the runner's `make_host` arguments; the script is a BrainScript of the brain file.
    """

    def __init__(self, engine_name: str, base: type[ScriptBase] = BrainScript):
        super().__init__(engine_name, base)

    def _load_script(self, config: dict) -> BrainScript:
        brain_file = config.get("NestInitFileName")
        if not isinstance(brain_file, str) or not brain_file:
            raise ValueError("the engine config has no NestInitFileName")
        seed = config.get("NestRNGSeed", 0)
        if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 2**32:
            raise ValueError(f"NestRNGSeed must be an integer in [0, 2^32), got {seed!r}")
        # Failure messages locate errors in this file (see describe_failure).
        self._python_file = brain_file
        return BrainScript(brain_file)
