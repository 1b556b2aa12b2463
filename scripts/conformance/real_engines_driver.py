"""Drives one simulation through this project's NrpCore client, in a process of its own so that
a hung step can be ended with it (NRPCoreSim is its child):

    python real_engines_driver.py ADDRESS EXPERIMENT_FOLDER CONFIG_FILE LOG_FILE STEPS

The sequence is initialize, run_loop(STEPS), reset, run_loop(STEPS), shutdown. The last stdout
line is `RESULT <json>`: {"ok": true} or {"ok": false, "step": ..., "error": ...}.
"""

import json
import sys
import traceback

from engines.nrpcore_client import NrpCore


def drive(address: str, folder: str, config_file: str, log_file: str, steps: int) -> dict:
    step = "start NRPCoreSim"
    try:
        nrp = NrpCore(address, experiment_folder=folder, config_file=config_file, log_output=log_file,
                      server_timeout=60)
        try:
            for step, call in (("initialize", nrp.initialize), ("run_loop", lambda: nrp.run_loop(steps)),
                               ("reset", nrp.reset), ("run_loop after reset", lambda: nrp.run_loop(steps)),
                               ("shutdown", nrp.shutdown)):
                call()
        finally:
            nrp.close()
    except Exception as error:  # noqa: BLE001 (reported to the parent, which judges)
        traceback.print_exc()
        return {"ok": False, "step": step, "error": f"{type(error).__name__}: {error}"}
    return {"ok": True}


if __name__ == "__main__":
    address, folder, config_file, log_file, steps = sys.argv[1:6]
    print("RESULT " + json.dumps(drive(address, folder, config_file, log_file, int(steps))), flush=True)
