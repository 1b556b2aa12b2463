# Run the simulation in step with the wall clock until its timeout, so that it can be watched
# (and paused) live: each chunk of steps is followed by the wait that keeps simulation time and
# real time together. A pause blocks inside run_loop, so no burst follows a resume.
import time

CHUNK_STEPS = 10
STEP_S = 0.01

try:
    while True:
        began = time.monotonic()
        _ = nrp.run_loop(CHUNK_STEPS)
        time.sleep(max(0.0, CHUNK_STEPS * STEP_S - (time.monotonic() - began)))
except NRPSimulationTimeout:
    file_logger.debug("DEBUG NRPSimulationTimeout reached in script")
