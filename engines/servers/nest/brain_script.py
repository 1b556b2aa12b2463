"""`BrainScript`: the script of a nest_json engine, built from its brain file (NestInitFileName).

nrp-core's NEST engine executes the brain file in the engine's Python interpreter; the file
builds the network with `nest` and registers datapacks that name NEST objects. Each step runs
`nest.Simulate` for the engine timestep (rounded to whole resolution steps) and reports NEST's
own clock. A reset is a fresh kernel and a fresh run of the brain file.
"""

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from engines.servers.nest.datapacks import BrainDataPacks, collecting
from engines.servers.nest.nest_thread import NestThread, nest_thread
from engines.servers.nest.status import StatusError, read_status, write_status
from engines.servers.script.script_base import ScriptBase

log = logging.getLogger(__name__)

NS_PER_MS = 1_000_000


class BrainFileError(FileNotFoundError):
    """NestInitFileName names no readable file."""


class BrainScript(ScriptBase):
    """Runs a brain file in NEST; its datapacks carry the status of the NEST objects they name.

    The server sets `_name` and `_config` (with `NestInitFileName`, `NestRNGSeed`) before
    `initialize()`. `_datapacks` maps each datapack name to its NEST object.
    """

    def __init__(self, brain_file: str):
        self.brain_file = brain_file
        self._nest = None
        self._thread: NestThread | None = None
        self._warned_short_step = False
        self._resolution_ms = 0.1
        self._start_ns = 0
        self._steps = 0

    # Every method that touches NEST hands the work to the NEST thread (see nest_thread).

    def initialize(self) -> None:
        self._thread = nest_thread()
        self._thread.call(self._initialize)

    def runLoop(self, timestep_ns: int) -> None:
        self._thread.call(self._run, timestep_ns)

    def reset(self) -> None:
        self._thread.call(self._load_brain)

    def shutdown(self) -> None:
        if self._thread is not None:
            self._thread.call(self._shutdown)

    def _getDataPack(self, name: str) -> list[dict]:
        self._checkRegistered(name)
        return self._thread.call(read_status, self._datapacks[name])

    def _setDataPack(self, name: str, data: Any) -> None:
        self._checkRegistered(name, "set data on")
        try:
            self._thread.call(write_status, self._datapacks[name], data)
        except Exception as exc:
            # NEST's own errors name the bad key but not the datapack.
            raise StatusError(f'datapack "{name}": cannot set the status of its NEST object: '
                              f"{type(exc).__name__}: {exc}") from exc

    def _initialize(self) -> None:
        self._nest = _import_nest()
        self._load_brain()

    def _run(self, timestep_ns: int) -> None:
        steps = round(timestep_ns / NS_PER_MS / self._resolution_ms)
        if steps > 0:
            self._nest.Simulate(steps * self._resolution_ms)
            self._steps += steps
        elif timestep_ns > 0 and not self._warned_short_step:
            self._warned_short_step = True
            log.warning("a step of %d ns is under half NEST's resolution (%g ms): NEST does not advance",
                        timestep_ns, self._resolution_ms)
        # The engine's time is NEST's clock (whole resolution steps), so that rounding never
        # accumulates into drift. It is counted here: reading NEST's kernel status costs
        # milliseconds once the network has run, more than a small network's step.
        self._time_ns = self._start_ns + round(self._steps * self._resolution_ms * NS_PER_MS)

    def _shutdown(self) -> None:
        if self._nest is not None:
            self._nest.ResetKernel()
        self._datapacks = {}

    def _load_brain(self) -> None:
        """A fresh kernel (seeded), then the brain file, whose registrations become the datapacks."""
        nest = self._nest
        self._datapacks = {}
        nest.ResetKernel()
        seed = int(self._config.get("NestRNGSeed", 0))
        registry = BrainDataPacks()
        with collecting(registry), _seeded_resets(nest, seed):
            _run_brain_file(self.brain_file, nest)
        self._datapacks = dict(registry.items())
        # Fixed from here on: NEST refuses a new resolution once nodes exist.
        self._resolution_ms = nest.resolution
        self._start_ns = round(nest.biological_time * NS_PER_MS)
        self._steps = 0
        self._time_ns = self._start_ns
        log.info("brain %s registered datapacks: %s", self.brain_file, ", ".join(registry.names()) or "none")


def _import_nest():
    # The banner is noise in the engine's log; the brain's own verbosity choice comes later.
    os.environ.setdefault("PYNEST_QUIET", "1")
    import nest

    # Without this NEST logs every Simulate call ("Simulation finished") at each engine step.
    nest.verbosity = nest.VerbosityLevel.WARNING
    return nest


@contextlib.contextmanager
def _seeded_resets(nest, seed: int) -> Iterator[None]:
    """Seed NEST now and after every ResetKernel the brain file makes.

    Brain files usually start with `nest.ResetKernel()`, which would drop a seed set beforehand.
    NEST seeds must be positive: NestRNGSeed 0 (the default) keeps NEST's own default seed.
    """
    if seed <= 0:
        yield
        return
    reset_kernel = nest.ResetKernel

    def reset_and_seed() -> None:
        reset_kernel()
        nest.rng_seed = seed

    nest.rng_seed = seed
    # The nest module refuses attribute assignment; its namespace can still be changed directly.
    namespace = vars(nest)
    namespace["ResetKernel"] = reset_and_seed
    try:
        yield
    finally:
        namespace["ResetKernel"] = reset_kernel


def _run_brain_file(brain_file: str, nest) -> None:
    """Execute the brain file as nrp-core does: as a main module, with `nest` among its globals."""
    path = os.path.abspath(brain_file)
    try:
        with open(path, "rb") as file:
            source = file.read()
    except OSError as exc:
        raise BrainFileError(f'NestInitFileName "{brain_file}" cannot be read ({path}): '
                             f"{exc.strerror}") from None
    directory = os.path.dirname(path)
    # Brain files import their neighbours (parameter modules) by plain name.
    if directory not in sys.path:
        sys.path.insert(0, directory)
    code = compile(source, path, "exec")
    exec(code, {"__name__": "__main__", "__file__": path, "__builtins__": __builtins__, "nest": nest})
