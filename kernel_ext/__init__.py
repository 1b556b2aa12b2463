"""Code that runs inside Jupyter kernels.

In an experiment kernel (one per simulation), the server bootstraps
`kernel_ext.simulation_server.SimulationServer`, which runs the experiment's main script on a thread
of its own with `nrp` = `kernel_ext.wrapper.NrpCoreWrapper`, and reports to the server as events on
the kernel's iopub channel (`kernel_ext.events`). docs/architecture.md holds the protocol.

Importing this package (or any of its modules) starts no thread and reads no environment variable.
"""
