"""Telling a broken simulation from a script's own error, and saying what broke.

The script's `completed` event has `failed` true only when the infrastructure under it broke:
NRPCoreSim is gone, it reports the simulation as Failed (an engine or a transceiver function
broke), or nrp-core's client lost its connection to it.
"""

from __future__ import annotations

import time

import engines.nrpcore_client
from engines.nrpcore_client import ClientClosed, ServerConnectionError

from .core_launch import core_exit_code, core_log_tail, core_pid, describe_exit

#: A broken connection can be seen a moment before the dead NRPCoreSim can be reaped.
EXIT_REAP_S = 0.5
LOG_TAIL_LINES = 5

# What nrp-core's client raises about its connection to NRPCoreSim; a ConnectionError of the
# script's own (from a library it uses) says nothing about the simulation.
_CONNECTION_ERRORS = (ServerConnectionError, ClientClosed)


def core_death_message(core: engines.nrpcore_client.NrpCore, code: int) -> str:
    """How NRPCoreSim ended, with the end of its log (where an engine's last words are)."""
    return (f"NRPCoreSim (pid {core_pid(core)}) {describe_exit(code)}.\n"
            f"{core_log_tail(core, LOG_TAIL_LINES)}")


def infrastructure_failure(core: engines.nrpcore_client.NrpCore, error: BaseException | None) -> str | None:
    """What broke under the script that ended with `error` (None: returned), or None if nothing did."""
    code = core_exit_code(core)
    if code is None and isinstance(error, _CONNECTION_ERRORS):
        deadline = time.monotonic() + EXIT_REAP_S
        while code is None and time.monotonic() < deadline:
            time.sleep(0.02)
            code = core_exit_code(core)
    if code is not None:
        return core_death_message(core, code)
    if core.current_state() == "Failed":
        return "The simulation failed in NRPCoreSim (an engine or a transceiver function broke)."
    if isinstance(error, _CONNECTION_ERRORS):
        return "The connection to NRPCoreSim broke."
    return None
