"""Engines whose script runs inside NRPCoreSim's process (LaunchType InProcess, this project's).

    engine_client  InProcessEngineClient: the ScriptHost calls an engine server would make, made here
    json_engines   python_json and py_sim: datapacks as JSON values (json_values)
    grpc_engine    python_grpc: datapacks as protobuf messages
    calls          on which thread a script call runs, and the EngineCommandTimeout
    tasks          a step the worker has not started is run by the thread that waits for it
    script_output  what a script prints goes to the engine output, as a launched engine's does
    clients        the client of an InProcess engine by its EngineType (the manager's choice)
"""
