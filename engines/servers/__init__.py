"""The engine processes: each engine server is a process of its own that NRPCoreSim launches and steps.

    python_json       JSON-over-REST server and its main (nrp-python-json-engine)
    python_grpc       EngineGrpcService server and its main (nrp-python-grpc-engine)
    py_sim            python_json with a simulator (nrp-py-sim-engine); simulators/: MuJoCo, PyBullet, Gymnasium
    nest_json         python_json with a NEST brain (nrp-nest-json-engine); nest/: the brain script
    datatransfer/     datapacks to MQTT and files, and its gRPC server (nrp-datatransfer-engine)
    script/           the script API the servers host (EngineScript, GrpcEngineScript, ScriptHost)

Shared by the servers: `cli` (command line), `runner` (process life), `registration`, `stopping`,
`parent_watch`; `http_server` is the JSON server's HTTP/1.1 layer. Importing any of these
starts nothing.
"""
