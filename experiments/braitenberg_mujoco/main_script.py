# Run the simulation until its timeout, then log its result as one line, "Result: <JSON object>".
# Log to the simulation's log file with file_logger; change its level with
# file_logger.setLevel(logging.INFO).
import json
import math

# nrp-core returns the status function's observations only when it says done; setting the engine's
# `report` datapack makes it say so at every step (vehicle_status.py), so the last one is at hand.
# That last one is the state at the start of the last step, when the functions last ran.
nrp.set_json_datapack("report", "vehicle", {"every_step": True})
pose = None
try:
    while True:
        done, trajectory = nrp.run_loop()
        if done and trajectory:
            pose = trajectory[-1]
except NRPSimulationTimeout:
    file_logger.debug("DEBUG NRPSimulationTimeout reached in script")
    if pose is None:
        raise RuntimeError("the status function reported no pose before the timeout")
    result = {"distance_to_target": pose["distance"], "initial_distance": pose["initial_distance"],
              "heading_error_deg": math.degrees(pose["bearing_error"])}
    file_logger.info("Result: %s", json.dumps(result))
