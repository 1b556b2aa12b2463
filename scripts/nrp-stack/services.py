"""The stack's long-running services, in start order, as `processes.Service` values."""

from __future__ import annotations

from configs import Broker, Mode
from layout import PROJECT, Layout
from processes import Service

HERE = PROJECT / "scripts" / "nrp-stack"


def proxy_env(layout: Layout) -> dict[str, str]:
    return {"STORAGE_PATH": str(layout.storage), "NODE_ENV": "production"}


def ts_node(layout: Layout) -> list[str]:
    """The proxy runs its TypeScript through ts-node, as its `npm start` does; called by path so that no
    node shim of node_modules/.bin stands in for the system's node."""
    return ["node", str(layout.proxy_src / "node_modules" / "ts-node" / "dist" / "bin.js")]


def jupyter_args(layout: Layout, mode: Mode, broker: Broker, extra: list[str]) -> list[str]:
    args = [
        str(PROJECT / ".venv" / "bin" / "jupyter"), "server", "--allow-root", "--no-browser",
        f"--ServerApp.root_dir={layout.jupyter_root}",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={layout.ports.jupyter}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={layout.jupyter_token}",
        f"--NrpJupyterApp.simulations_dir={layout.simulations}",
        f"--NrpJupyterApp.database_path={layout.run / 'records.sqlite'}",
        # One simulation at a time, as NRP's backend: a second launch is its "no free slot" 409.
        "--NrpJupyterApp.max_simulations=1",
    ]
    if broker is Broker.MOSQUITTO:
        args.append(f"--NrpJupyterApp.mqtt_broker=127.0.0.1:{layout.ports.mqtt}")
    else:
        # Zero set-up: the server's own broker, with the websockets listener browsers need.
        args += ["--NrpJupyterApp.mqtt_broker=", f"--NrpJupyterApp.embedded_broker_port={layout.ports.mqtt}",
                 f"--NrpJupyterApp.embedded_broker_websockets_port={layout.ports.mqtt_websockets}"]
    if mode is Mode.WORKAROUND:
        # The proxy's clones are folders of its storage: ours reads them there directly.
        args.append(f"--NrpJupyterApp.storage_dir={layout.storage}")
    else:
        # As NRP's backend is configured (STORAGE_ADDRESS=nrp-haproxy, STORAGE_PORT=9000): the proxy's
        # storage API behind haproxy, which strips the first /storage.
        args += [f"--NrpJupyterApp.storage_dir={layout.jupyter_root / 'experiments'}",
                 f"--NrpJupyterApp.nrp_proxy_url={layout.base_url}/storage"]
    return args + extra


def all_services(layout: Layout, mode: Mode, broker: Broker, server_args: list[str]) -> list[Service]:
    ports = layout.ports
    mosquitto = [Service(name="mosquitto", argv=["mosquitto", "-c", str(layout.run / "mosquitto.conf")],
                         cwd=layout.run, port=ports.mqtt_websockets)] if broker is Broker.MOSQUITTO else []
    return [
        *mosquitto,
        Service(name="jupyter", argv=jupyter_args(layout, mode, broker, server_args), cwd=layout.jupyter_root,
                port=ports.jupyter, ready_url=f"http://127.0.0.1:{ports.jupyter}/nrp/version"),
        Service(name="proxy", argv=[*ts_node(layout), "app.ts"], cwd=layout.proxy_src, env=proxy_env(layout),
                port=ports.proxy, ready_url=f"http://127.0.0.1:{ports.proxy}/health"),
        Service(name="frontend", argv=[str(layout.python), str(HERE / "static_server.py"),
                                       str(layout.frontend_build), str(ports.frontend)],
                cwd=layout.run, port=ports.frontend),
        Service(name="haproxy", argv=["haproxy", "-db", "-f", str(layout.run / "haproxy.cfg")],
                cwd=layout.run, port=ports.haproxy),
    ]
