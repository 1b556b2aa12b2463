"""Every run recorded into an MCAP file: what the server says about a simulation (status, progress,
lifecycle transitions, runtime errors, steering events) and the datapacks its datatransfer engines
stream, each with its wall-clock and simulation time. `format` is the file's layout, `recorder` the
StatusPublisher listener and writer thread that make it, `reads` what the REST read serves."""
