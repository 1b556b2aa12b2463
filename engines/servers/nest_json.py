"""The nest_json engine server: nrp-core's NEST engine over the JSON-over-REST protocol.

    nrp-nest-json-engine --engine=NAME --serverurl=HOST:PORT [--regservurl=HOST:PORT] [--options=STR]

The routes, bodies and errors are the python_json engine's (engines/servers/python_json.py); what
differs is the script behind them. `/initialize` takes the engine config with `NestInitFileName`
(the brain file, run with `nest` and `nrp_core.engines.nest_json`) and `NestRNGSeed`;
`/get_datapacks` answers each datapack with the status of its NEST object as nest.GetStatus gives
it (a list with one dict per node); `/set_datapacks` sets that status (a dict for every node, or
one dict per node); `/run_loop` runs `nest.Simulate` for the step and answers NEST's clock in ns;
`/reset` resets the kernel and runs the brain file again.
"""

import sys

from engines.servers.nest.brain_host import BrainHost
from engines.servers.nest.brain_script import BrainScript
from engines.servers.python_json import JsonEngineServer
from engines.servers.runner import run_engine

DEFAULT_SERVER_URL = "localhost:9002"  # EngineJSON's ServerAddress default


def main(argv: list[str] | None = None) -> int:
    # The python_json routes over a brain host: the runner builds it, and closes it on a stop.
    return run_engine(argv, prog="nrp-nest-json-engine", default_serverurl=DEFAULT_SERVER_URL,
                      script_base=BrainScript, make_host=BrainHost, make_server=JsonEngineServer)


if __name__ == "__main__":
    sys.exit(main())
