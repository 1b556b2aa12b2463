# Run the simulation until its timeout, then log its result as one line, "Result: <JSON object>".
# Log to the simulation's log file with file_logger; change its level with
# file_logger.setLevel(logging.INFO).
import json

# nrp-core returns the status function's observations only when it says done; setting the engine's
# `report` datapack makes it say so at every step (balance_status.py), so the last one is at hand.
# That last one is the state at the start of the last step, when the functions last ran.
nrp.set_json_datapack("report", "cartpole", {"every_step": True})
balance = None
try:
    while True:
        done, trajectory = nrp.run_loop()
        if done and trajectory:
            balance = trajectory[-1]
except NRPSimulationTimeout:
    file_logger.debug("DEBUG NRPSimulationTimeout reached in script")
    if balance is None:
        raise RuntimeError("the status function reported no balance before the timeout")
    result = {"longest_steps": balance["longest"], "falls": balance["falls"], "episodes": balance["episodes"]}
    file_logger.info("Result: %s", json.dumps(result))
