# Run the simulation until its timeout.
# Log to the simulation's log file with file_logger; change its level with
# file_logger.setLevel(logging.INFO).
try:
    while True:
        _ = nrp.run_loop()
except NRPSimulationTimeout:
    file_logger.debug("DEBUG NRPSimulationTimeout reached in script")
