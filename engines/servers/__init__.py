"""Engine servers: the engine side of nrp-core's two engine protocols, and the script API.

    json_script.EngineScript       base of a python_json engine's Script  (nrp_core.engines.python_json)
    grpc_script.GrpcEngineScript   base of a python_grpc engine's Script  (nrp_core.engines.python_grpc)
    python_json                    JSON-over-REST server and its main (nrp-python-json-engine)
    python_grpc                    EngineGrpcService server and its main (nrp-python-grpc-engine)

Shared by both servers: `cli` (command line), `runner` (process life), `script_host` (script
lifecycle and failure messages), `script_base`, `script_loader`, `registration`, `stopping`,
`parent_watch`; `http_server` is the JSON server's HTTP/1.1 layer. Importing any of these
starts nothing.
"""
