"""Run one scenario of scenarios.py with the real nrp-client 1.4.0 and print its results.

    .venv-nrp-client/bin/python real_client_driver.py SCENARIO ADDRESS EXPERIMENT_FOLDER [CONFIG_FILE]

The last stdout line is `RESULT <json>` (the client itself may print before it). NRPCoreSim must be
on PATH, as nrp-client launches it by name.
"""

import json
import sys
import warnings

# nrp-client imports pkg_resources, which warns about its own deprecation.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from nrp_client import NrpCore  # noqa: E402

import scenarios  # noqa: E402  (this script's folder is sys.path[0])


def server_alive(nrp) -> bool:
    return nrp._launcher.is_alive_nrp_process()


def release(nrp) -> None:
    # nrp-client leaves NRPCoreSim running when shutdown() raises (it signals only after a
    # successful request), and its __del__ swallows that; so end it here, through its launcher.
    nrp._launcher.kill_nrp_process()


def main() -> None:
    name, address, folder = sys.argv[1:4]
    config = sys.argv[4] if len(sys.argv) > 4 else "simulation_config.json"
    target = scenarios.Target(address, folder, config)
    result = scenarios.run(name, NrpCore, target, server_alive, release)
    sys.stdout.write("\nRESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
