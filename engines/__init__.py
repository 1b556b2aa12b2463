"""The nrp-core side of nrp-jupyter: NRPCoreSim, its engines and the protocols between them.

Wire- and file-compatible with nrp-core 1.4. Importing this package starts nothing and reads no
environment; the console scripts (`NRPCoreSim`, the engine servers) are thin mains over it.
"""
