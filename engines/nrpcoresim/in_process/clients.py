"""The client of an engine whose launcher is launchers.InProcess, by its EngineType."""

from __future__ import annotations

from engines.nrpcoresim.config.in_process import check_in_process
from engines.nrpcoresim.in_process.engine_client import InProcessEngineClient
from engines.nrpcoresim.in_process.grpc_engine import InProcessGrpcClient
from engines.nrpcoresim.in_process.json_engines import InProcessJsonClient, InProcessPySimClient
from engines.nrpcoresim.launchers import InProcess

IN_PROCESS_CLIENTS = {"python_json": InProcessJsonClient, "py_sim": InProcessPySimClient,
                      "python_grpc": InProcessGrpcClient}


def make_in_process_client(config: dict, launcher: InProcess) -> InProcessEngineClient:
    check_in_process([config])  # the config loader has, unless the config was built in memory
    return IN_PROCESS_CLIENTS[config["EngineType"]](config, launcher, None)
