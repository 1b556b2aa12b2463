"""The nrp-core side of nrp-jupyter: NRPCoreSim, its engines and the protocols between them.

Wire- and file-compatible with nrp-core 1.4. One subpackage per process, and what they share:

    nrpcoresim/      the NRPCoreSim process: its gRPC server, manager, FTI loop, functions, config,
                     launchers and the clients of the engine protocols
    servers/         the engine processes (python_json, python_grpc, py_sim, nest_json, datatransfer),
                     their simulators and NEST brain, and the script API they host
    nrpcore_client   NrpCore, the Python client of NRPCoreSim's server mode (what experiment kernels use)
    mqtt/            MQTT topics, the publisher and the data stream's decoding (the server extension and
                     the datatransfer engine share them)
    engine_wire      the names of the engine protocols (routes, body keys, RPCs, launch options),
                     which the engine clients and the engine servers both import
    datapacks, errors, engine_progress: shared by all of the above

Importing this package starts nothing and reads no environment; the console scripts (`NRPCoreSim`,
the engine servers) are thin mains over it.
"""
