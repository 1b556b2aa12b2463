"""NRPCoreSim, the process that runs a simulation (console script `NRPCoreSim`, nrp-core 1.4's CLI).

    main           the command line: standalone, or server mode (`-m server`)
    server         the NrpCore gRPC service of server mode, one request queue in front of the manager
    manager        SimulationManager: launches the engines, loads the functions, owns the lifecycle
    lifecycle      the states of a simulation and the requests each allows
    loop           the FTI loop: step the engines, run the functions, exchange datapacks
    processor      transceiver, preprocessing and status functions over the datapacks of one cycle
    functions      the function decorators and loading; function_api, the names function files see
    trajectory     the trajectory that server mode returns
    steering       the SteeringDesk: datapacks and reads from outside the script, served at step boundaries
    steering_service  our SteeringService gRPC servicer beside NrpCore (protos/nrp_steering.proto)
    config         the simulation config: schemas, defaults, `-o` overrides
    launchers      how engine processes are started (BasicFork, EmptyLaunchCommand, ...)
    engine_client  EngineClient, the base of the engine clients in `protocols`

Its peers are engine processes (`engines.servers`); the client of its server mode is
`engines.nrpcore_client` (and `engines.nrpcore_steering` for steering). Importing this package starts nothing and imports no submodule.
"""
