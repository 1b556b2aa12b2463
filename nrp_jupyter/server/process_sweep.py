"""Ending every process a simulation started, however it detached from it.

A process tree is not enough: a main script or an engine may start a daemon that double-forks,
calls setsid and ignores SIGTERM; it then belongs to no tree of ours, not even after the server
crashed and restarted. What such a process cannot shed unknowingly is its environment: the
experiment kernel is started with `KERNEL_NRP_SIMULATION_DIR` set to the simulation's own directory
(a fresh temporary path), and the kernel, NRPCoreSim, the engines and whatever they start inherit
it. A sweep ends every process of this user whose environment carries the simulation's value.

A process that clears its own environment escapes; docs/security.md says so.
"""

from __future__ import annotations

import logging
import os

import psutil

from kernel_ext.protocol import Env

log = logging.getLogger(__name__)

#: The variable that marks a simulation's processes; its value is the simulation directory.
MARKER_VARIABLE = Env.SIMULATION_DIR
# How long processes get to end on SIGTERM before SIGKILL: they are leftovers of a stop that
# already asked everything to end cooperatively.
TERMINATE_GRACE_S = 0.2


def processes_of(simulation_dir: str) -> list[psutil.Process]:
    """Live processes whose environment marks them as the simulation's, except this process and its
    own children: those are kernels, which the kernel manager ends and reaps itself (reaping one here
    would leave its Popen unable to learn that it ended)."""
    found = []
    me = os.getpid()
    for process in psutil.process_iter():
        if process.pid == me:
            continue
        try:
            if process.ppid() == me:
                continue
        except psutil.Error:
            continue
        try:
            if process.environ().get(MARKER_VARIABLE) == simulation_dir and process.status() != psutil.STATUS_ZOMBIE:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue  # gone meanwhile, or another user's: not ours to end
    return found


def end_processes_of(simulation_dir: str | None) -> list[int]:
    """Ends the simulation's leftover processes: SIGTERM, then SIGKILL for those that ignore it.
    Returns the pids it found."""
    if not simulation_dir:
        return []
    leftovers = processes_of(simulation_dir)
    if not leftovers:
        return []
    log.warning("ending %d process(es) left by the simulation in %s: %s", len(leftovers), simulation_dir,
                ", ".join(f"{_name(p)} (pid {p.pid})" for p in leftovers))
    for process in leftovers:
        _signal(process, psutil.Process.terminate)
    _, alive = psutil.wait_procs(leftovers, timeout=TERMINATE_GRACE_S)
    for process in alive:
        _signal(process, psutil.Process.kill)
    psutil.wait_procs(alive, timeout=1.0)
    return [process.pid for process in leftovers]


def _signal(process: psutil.Process, send) -> None:
    try:
        send(process)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        pass


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return "?"
