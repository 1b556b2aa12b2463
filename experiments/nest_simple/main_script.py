# Run the simulation until its timeout, then log its result as one line, "Result: <JSON object>".
# Log to the simulation's log file with file_logger; change its level with
# file_logger.setLevel(logging.INFO).
import json

# nrp-core returns the status function's observations only when it says done; labelling the brain's
# `report` recorder makes it say so at every step (nest_status.py), so the last one is at hand.
# That last one is the state at the start of the last step, when the functions last ran.
nrp.set_json_datapack("report", "nest", {"label": "every_step"})
brain = None
try:
    while True:
        done, trajectory = nrp.run_loop()
        if done and trajectory:
            brain = trajectory[-1]
except NRPSimulationTimeout:
    file_logger.debug("DEBUG NRPSimulationTimeout reached in script")
    if brain is None:
        raise RuntimeError("the status function reported nothing before the timeout")
    result = {"voltage_mV": brain["voltage_mV"], "rates": brain["rates"]}
    file_logger.info("Result: %s", json.dumps(result))
