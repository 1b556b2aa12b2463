"""Where the stack's pieces live and which ports they use: one frozen value every other module reads."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path

# /work/main, the checkout whose .venv runs the Jupyter server, the browser and the acceptance suite.
PROJECT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True, kw_only=True)
class Ports:
    """Loopback ports. 9000 and 8443 are NRP's own (the frontend's build bakes http://localhost:9000 in)."""

    haproxy: int = 9000
    proxy: int = 8443
    # Not 9002: NRPCoreSim hands out 9002 and up to engines, as nrp-core does.
    frontend: int = 9080
    jupyter: int = 8890
    # Not 1883: the project's tests and embedded brokers reach for 1883 first.
    mqtt: int = 18830
    mqtt_websockets: int = 18833


@dataclass(frozen=True, kw_only=True)
class Layout:
    """The third-party checkouts (read, built in place, never copied into the project) and the work folder."""

    frontend_src: Path
    proxy_src: Path
    user_scripts_src: Path
    work: Path
    ports: Ports = field(default_factory=Ports)
    fs_user: str = "nrpuser"
    fs_password: str = "password"
    # The Jupyter server's own token: the workaround puts it in place of the proxy's bearer token.
    jupyter_token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def run(self) -> Path:
        """Generated configs, pid files and logs."""
        return self.work / "run"

    @property
    def storage(self) -> Path:
        """The proxy's file-system storage (its STORAGE_PATH): users, clones, the FS_db."""
        return self.work / "storage"

    @property
    def templates(self) -> Path:
        """The proxy's templatesPath.FS: one folder per template experiment, as nrp-core's examples/templates."""
        return self.work / "templates"

    @property
    def jupyter_root(self) -> Path:
        return self.work / "jupyter-root"

    @property
    def simulations(self) -> Path:
        return self.work / "simulations"

    @property
    def screenshots(self) -> Path:
        return self.work / "screenshots"

    @property
    def frontend_build(self) -> Path:
        return self.frontend_src / "build"

    @property
    def python(self) -> Path:
        return PROJECT / ".venv" / "bin" / "python"

    @property
    def base_url(self) -> str:
        return f"http://localhost:{self.ports.haproxy}"
