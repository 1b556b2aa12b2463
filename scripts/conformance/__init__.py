"""nrp-core conformance: runs an nrp-core checkout's examples and tests against this project.

`scripts/nrp-core-conformance PATH` is the command; `runner.main` its entry. Each module builds one
kind of check (examples.py finds what to run, simulations.py runs configs standalone and through the
real nrp-client, engine_unit_tests.py runs nrp-core's engine-server tests, suites.py hands over to
server_suite.py and real_engines.py); sandbox.py owns every process and temporary file a check makes.
Nothing here copies nrp-core code: the checkout's files run from temporary copies.
"""
