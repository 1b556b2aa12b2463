"""What a running `jupyter server` with the extension holds, measured from outside its process:
the soak test, the fault matrix and benchmarks/soak.py compare it before and after.

Everything is read through psutil and the server's REST API, so that measuring does not change
what is measured (no request to the extension beyond `GET /api/kernels`).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import urllib.request

import psutil

from tests.conftest import TEST_MARKER_VARIABLE, core_processes
from tests.waiting import settle


@dataclasses.dataclass(frozen=True)
class Footprint:
    """One measurement. `children` are live descendants of the server (kernels, NRPCoreSim,
    engines); `core` are NRPCoreSim, engine and kernel processes anywhere that carry the test's
    marker, so that a process that escaped the server's tree is counted too."""

    children: tuple[str, ...]
    core: tuple[str, ...]
    kernels: tuple[str, ...]
    ports: frozenset[int]
    file_descriptors: int
    simulation_dirs: tuple[str, ...]

    def summary(self) -> str:
        return (f"children={len(self.children)} core={len(self.core)} kernels={len(self.kernels)} "
                f"ports={sorted(self.ports)} fds={self.file_descriptors} "
                f"sim_dirs={len(self.simulation_dirs)}")

    def differences(self, baseline: "Footprint", fd_allowance: int = 0) -> list[str]:
        """What this measurement holds beyond `baseline`; empty when it is back to it. Listening
        ports and processes must match exactly, file descriptors within `fd_allowance`."""
        found = []
        for name in ("children", "core", "kernels", "simulation_dirs"):
            extra = sorted(set(getattr(self, name)) - set(getattr(baseline, name)))
            if extra:
                found.append(f"{name}: {extra}")
        if self.ports - baseline.ports:
            found.append(f"listening ports: {sorted(self.ports - baseline.ports)}")
        if self.file_descriptors > baseline.file_descriptors + fd_allowance:
            found.append(f"file descriptors: {self.file_descriptors} > {baseline.file_descriptors} "
                         f"+ {fd_allowance}")
        return found


def describe(process: psutil.Process) -> str:
    try:
        return f"{process.pid} {' '.join(process.cmdline()[:4])}"
    except psutil.Error:
        return f"{process.pid} (gone)"


def alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def listening_ports(processes) -> frozenset[int]:
    ports = set()
    for process in processes:
        try:
            ports |= {c.laddr.port for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN}
        except psutil.Error:
            continue
    return frozenset(ports)


def stray_processes(marker: str) -> list[psutil.Process]:
    """NRPCoreSim, engines and experiment kernels anywhere whose environment carries `marker`:
    what a crashed server may leave behind outside its own process tree."""
    found = list(core_processes(marker))
    for process in psutil.process_iter(["cmdline", "status"]):
        words = " ".join(process.info["cmdline"] or ())
        if process.info["status"] == psutil.STATUS_ZOMBIE or "ipykernel" not in words:
            continue
        try:
            if process.environ().get(TEST_MARKER_VARIABLE) == marker:
                found.append(process)
        except psutil.Error:
            continue
    return [process for process in found if alive(process)]


def kernel_ids(url: str, token: str) -> tuple[str, ...]:
    request = urllib.request.Request(f"{url}api/kernels", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return tuple(sorted(kernel["id"] for kernel in json.loads(response.read())))


def measure(server, marker: str, simulations_dir: pathlib.Path) -> Footprint:
    """The footprint of `server` (a tests.live_server.LiveServer that runs) now."""
    root = psutil.Process(server.process.pid)
    children = [p for p in root.children(recursive=True) if alive(p)]
    return Footprint(
        children=tuple(sorted(describe(p) for p in children)),
        core=tuple(sorted(describe(p) for p in stray_processes(marker))),
        kernels=kernel_ids(server.url, server.token),
        ports=listening_ports([root, *children]),
        file_descriptors=root.num_fds(),
        simulation_dirs=tuple(sorted(p.name for p in simulations_dir.iterdir())
                              if simulations_dir.is_dir() else ()),
    )


def settled(server, marker: str, simulations_dir: pathlib.Path, baseline: Footprint, fd_allowance: int = 0,
            within_s: float = 5.0) -> tuple[Footprint, list[str]]:
    """Measures until the footprint is back to `baseline` or `within_s` passes; the last
    measurement and what it still holds beyond the baseline. Kernels and processes take a moment
    to be reaped after a stop has answered, so one measurement right away would be flaky."""
    footprint = settle(lambda: measure(server, marker, simulations_dir),
                       lambda measured: not measured.differences(baseline, fd_allowance), within_s, every_s=0.1)
    return footprint, footprint.differences(baseline, fd_allowance)


def idle(server, marker: str, simulations_dir: pathlib.Path, within_s: float = 15.0) -> Footprint:
    """The footprint of a server with nothing running, once the helpers it runs at start-up
    (JupyterLab asks `npm prefix -g`) have ended."""
    return settle(lambda: measure(server, marker, simulations_dir), lambda measured: not measured.children,
                  within_s, every_s=0.1)
