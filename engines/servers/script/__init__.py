"""The engine script API: the base classes of the scripts engine servers run, and the host that runs them.

    script_base    ScriptBase: datapack registration and the time of a script
    json_script    EngineScript, the base of a python_json engine's Script (nrp_core.engines.python_json)
    grpc_script    GrpcEngineScript, the base of a python_grpc engine's Script (nrp_core.engines.python_grpc)
    script_loader  loads the Script class from PythonFileName
    script_calls   the calls into a script, with the time and failure handling nrp-core applies
    script_host    ScriptHost: a script's lifecycle and failure messages

It sits below the servers that host scripts (`engines.servers`) and the scripts that build on it
(`engines.servers.nest`, `engines.servers.simulators`), so that neither imports the other.
"""
