"""Starting NRPCoreSim for one simulation, and ending it whatever state it is in.

NRPCoreSim gets a free localhost port (so simulations can run side by side), its console log as
`nrpcore_<id>.log` in the simulation directory (archived with the other logs at stop), and, as NRP's
simulation server does (spec 1.5), `-o` overrides that tell each datatransfer engine the simulation
id, the MQTT prefix and, when one is configured, the broker.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
from collections.abc import Mapping
from typing import Any

from engines.errors import ConfigError
from engines.nrpcore_client import NrpCore

from .settings import ServerSettings

log = logging.getLogger(__name__)

DATATRANSFER_ENGINE = "datatransfer_grpc_engine"
# A port picked by bind(0) may be taken by someone else before NRPCoreSim binds it.
_LAUNCH_ATTEMPTS = 3
# NRPCoreSim tells a lost race for its port only in its log, which the client's ChildProcessError
# quotes: its exit status (2) is that of every failure before it serves.
_BIND_FAILURE = "cannot listen on"
_KILLED_EXIT_S = 2.0  # for the shutdown thread to notice the killed process and close the client


def free_localhost_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _json_argument(value: str) -> str:
    # nrp-client splits `args` on single spaces with no quoting and NRPCoreSim parses each value
    # as JSON, so a space inside a value is written as the JSON escape \u0020.
    return json.dumps(value).replace(" ", "\\u0020")


def datatransfer_overrides(config: Mapping[str, Any], simulation_id: str, mqtt_prefix: str,
                           mqtt_broker: str) -> list[str]:
    """`KEY=VALUE` overrides for every datatransfer engine of `config`."""
    overrides = []
    for index, engine in enumerate(config.get("EngineConfigs", [])):
        if engine.get("EngineType") != DATATRANSFER_ENGINE:
            continue
        overrides.append(f"EngineConfigs.{index}.simulationID={_json_argument(simulation_id)}")
        overrides.append(f"EngineConfigs.{index}.MQTTPrefix={_json_argument(mqtt_prefix)}")
        if mqtt_broker:
            overrides.append(f"EngineConfigs.{index}.MQTTBroker={_json_argument(mqtt_broker)}")
    return overrides


def read_config(path: os.PathLike | str) -> dict[str, Any]:
    """The experiment config as written, for the few keys the kernel needs (timing, engine types).

    It is not validated here: the server validates it before it starts the kernel, and NRPCoreSim
    validates it again (a failure there names the key and ends initialisation). Validation would
    import jsonschema, which takes about a second in this process.
    """
    file = os.fspath(path)
    try:
        with open(file, encoding="utf-8") as stream:
            config = json.load(stream)
    except FileNotFoundError:
        raise ConfigError("config file not found", file=file) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read config file: {err}", file=file) from err
    except json.JSONDecodeError as err:
        raise ConfigError(f"invalid JSON: {err.msg} at line {err.lineno} column {err.colno}",
                          file=file) from None
    if not isinstance(config, dict):
        raise ConfigError("the config must be a JSON object", file=file)
    return config


def nrpcore_log_name(simulation_id: str) -> str:
    return f"nrpcore_{simulation_id}.log"


def launch_core(settings: ServerSettings, config: Mapping[str, Any]) -> NrpCore:
    """Start NRPCoreSim for the simulation (engines are launched later, by initialize())."""
    overrides = datatransfer_overrides(config, settings.simulation_id, settings.mqtt_prefix,
                                       settings.mqtt_broker)
    args = " ".join(f"-o {override}" for override in overrides)
    for attempt in range(1, _LAUNCH_ATTEMPTS + 1):
        address = f"localhost:{free_localhost_port()}"
        try:
            return NrpCore(address, experiment_folder=str(settings.simulation_dir),
                           config_file=str(settings.config_path), args=args,
                           log_output=nrpcore_log_name(settings.simulation_id))
        except ChildProcessError as err:
            if _BIND_FAILURE not in str(err) or attempt == _LAUNCH_ATTEMPTS:
                raise
            log.info("NRPCoreSim lost the race for %s; trying another port", address)
    raise AssertionError("unreachable")


def core_pid(core: NrpCore) -> int:
    # engines.nrpcore_client.NrpCore keeps its NRPCoreSim child as `_process`; nrp-client has no public
    # accessor, and the pid and exit status are what liveness checks and error messages need.
    return core._process.pid


def core_exit_code(core: NrpCore) -> int | None:
    """NRPCoreSim's exit code (negative: killed by that signal), None while it runs."""
    return core._process.exit_code()


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def shutdown_core(core: NrpCore, timeout: float, terminate_grace: float = 2.0) -> None:
    """NrpCore.shutdown() (engines, then NRPCoreSim), ending NRPCoreSim if that takes over `timeout` s.

    The shutdown request queues behind whatever NRPCoreSim is executing (a long initialize, a hung
    engine), so it runs on a thread of its own. After the deadline NRPCoreSim gets SIGTERM (it tears
    its engines down on it), then, `terminate_grace` s later, SIGKILL; engines left behind exit by
    themselves once NRPCoreSim is gone, since they watch their parent.
    """
    def shut_down() -> None:
        try:
            core.shutdown()
        except Exception as err:  # noqa: BLE001 -- the process is ended regardless; only the cause is logged
            log.info("NrpCore.shutdown() failed (NRPCoreSim is ended anyway): %s", err)

    worker = threading.Thread(target=shut_down, name="NrpCoreShutdown", daemon=True)
    worker.start()
    worker.join(timeout)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if not worker.is_alive() or core_exit_code(core) is not None:
            break
        pid = core_pid(core)
        log.warning("NRPCoreSim (pid %d) not shut down after %.1f s; sending %s", pid, timeout, sig.name)
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            break
        worker.join(terminate_grace)
    worker.join(_KILLED_EXIT_S)


def core_log_tail(core: NrpCore, lines: int) -> str:
    """The last lines of NRPCoreSim's log, where the reason it died is (an engine's traceback, ...)."""
    return core._process.log_report(lines)
