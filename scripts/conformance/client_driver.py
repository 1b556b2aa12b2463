"""Drives one simulation config through the real nrp-client, as a user's script would.

    .venv-nrp-client/bin/python client_driver.py ADDRESS EXPERIMENT_FOLDER CONFIG_FILE

NrpCore spawns NRPCoreSim (the first on PATH) in server mode at ADDRESS; the driver initializes,
runs until the timeout and shuts down. The last stdout line is `RESULT <json>`: the flags
run_until_timeout answered, or the error that stopped the sequence and at which step.
"""

import json
import sys
import traceback
import warnings

# nrp-client imports pkg_resources, which warns about its own deprecation.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")

from nrp_client import NrpCore  # noqa: E402


def main() -> int:
    address, folder, config = sys.argv[1:4]
    result = {"step": "connect"}
    nrp = None
    try:
        nrp = NrpCore(address, experiment_folder=folder, config_file=config, server_timeout=30)
        result["step"] = "initialize"
        nrp.initialize()
        result["step"] = "run_until_timeout"
        done, timed_out, trajectory = nrp.run_until_timeout()
        result.update(done=bool(done), timeout=bool(timed_out), trajectory=len(trajectory))
        result["step"] = "shutdown"
        nrp.shutdown()
        result["step"] = "finished"
    except Exception as error:  # every failure is the report's content
        result["error"] = f"{type(error).__name__}: {error}"
        traceback.print_exc()
    finally:
        # nrp-client leaves NRPCoreSim running when a request raised; end it through its launcher.
        if nrp is not None and nrp._launcher is not None and nrp._launcher.is_alive_nrp_process():
            nrp._launcher.kill_nrp_process()
    sys.stdout.write("\nRESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0 if "error" not in result else 1


if __name__ == "__main__":
    sys.exit(main())
