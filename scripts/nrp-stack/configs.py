"""The stack's configuration files, written from the layout: the proxy's config.json, the frontend's
build-time config.json, haproxy's routing, mosquitto's listeners, and the template experiment.

Two modes differ only in how our server is reached:
- `nrp`: as NRP's docker-compose wires nrp-backend. The proxy polls the server directly
  (`internalIp`) with its own bearer token; haproxy forwards `/nrp-services/` untouched; experiments
  live in the proxy's storage and nowhere else.
- `workaround`: the harness-only workarounds of issue 12, for a server without the NRP deployment mode.
  haproxy replaces every bearer token on `/nrp-services/` with the Jupyter server's own token, the
  proxy polls through that route, and the server's storage is the proxy's storage folder.
"""

from __future__ import annotations

import json
import shutil
from enum import Enum
from pathlib import Path

from layout import PROJECT, Layout


class Mode(str, Enum):
    NRP = "nrp"
    WORKAROUND = "workaround"


class Broker(str, Enum):
    """mosquitto: NRP's own broker set-up (MQTT and websockets listeners); embedded: the server's broker."""

    MOSQUITTO = "mosquitto"
    EMBEDDED = "embedded"


TEMPLATE_NAME = "tf_exchange"
# Our own wall-clock paced main script (experiments/tf_exchange_datatransfer): tf_exchange's own
# script finishes its 1 s of simulated time in well under a second, too fast to watch or pause.
LIVE_MAIN_SCRIPT = PROJECT / "experiments" / "tf_exchange_datatransfer" / "main_script_realtime.py"
LIVE_TIMEOUT_S = 120


def write_all(layout: Layout, mode: Mode) -> None:
    layout.run.mkdir(parents=True, exist_ok=True)
    for folder in (layout.storage, layout.jupyter_root, layout.simulations, layout.screenshots):
        folder.mkdir(parents=True, exist_ok=True)
    write_proxy_config(layout, mode)
    write_frontend_config(layout)
    write_haproxy_config(layout, mode)
    write_mosquitto_config(layout)
    write_template(layout)


def server_poll_url(layout: Layout, mode: Mode) -> str:
    """Where the proxy sends its `GET /simulation` poll (its server entry's `internalIp`)."""
    if mode is Mode.WORKAROUND:
        return f"{layout.base_url}/nrp-services"
    return f"http://127.0.0.1:{layout.ports.jupyter}/nrp"


def write_proxy_config(layout: Layout, mode: Mode) -> None:
    """The proxy reads ./config.json from its working directory, its checkout."""
    config = {
        "nrpVersion": "4.1.1",
        "refreshInterval": 2000,
        # NRP's local configuration: the proxy's own FS login, no OIDC.
        "auth": {"renewInternal": 600000, "clientId": "nrp-proxy", "clientSecret": "", "url": "", "deactivate": True},
        "port": layout.ports.proxy,
        "modelsPath": str(layout.work / "models"),
        "templatesPath": {"FS": str(layout.templates)},
        "servers": {
            "localhost": {
                "internalIp": server_poll_url(layout, mode),
                # What the browser uses: haproxy's route to the server.
                "nrp-services": f"{layout.base_url}/nrp-services",
                "serverJobLocation": "local",
            }
        },
        "storage": "FS",
        "authentication": "FS",
        "backendScripts": {},
    }
    (layout.work / "models").mkdir(parents=True, exist_ok=True)
    (layout.proxy_src / "config.json").write_text(json.dumps(config, indent=2))


def write_frontend_config(layout: Layout) -> None:
    """The frontend imports src/config.json at build time: the sample for a local stack, unchanged apart
    from the MQTT websocket, which goes through haproxy's port as the sample says."""
    sample = json.loads((layout.frontend_src / "src" / "config.json.sample.local").read_text())
    sample["api"]["proxy"]["url"] = f"{layout.base_url}/proxy"
    sample["mqtt"]["url"] = "localhost"
    sample["mqtt"]["port"] = str(layout.ports.haproxy)
    target = layout.frontend_src / "src" / "config.json"
    text = json.dumps(sample, indent=2)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def write_haproxy_config(layout: Layout, mode: Mode) -> None:
    """NRP's routing (nrp-user-scripts, config_files/haproxy): websockets to the broker, /proxy/ and
    /storage/ to the proxy, /nrp-services/ to the backend (here our `<base_url>nrp/`), the rest to the
    frontend. Browser and APIs share one origin, so no CORS rule is needed."""
    ports = layout.ports
    token_swap = (
        f'    http-request set-header Authorization "token {layout.jupyter_token}"\n'
        if mode is Mode.WORKAROUND else ""
    )
    text = f"""global
    log stdout format raw local0

defaults
    log global
    mode http
    option httplog
    timeout connect 5s
    timeout client 60s
    timeout server 130s
    timeout tunnel 3600s

frontend web
    bind 127.0.0.1:{ports.haproxy}
    capture request header Authorization len 64
    capture request header Content-Length len 10
    acl is_websocket hdr(Upgrade) -i websocket
    use_backend mqtt_websockets if is_websocket
    use_backend nrp_proxy if {{ path_beg /proxy/ }} || {{ path_beg /storage/ }}
    use_backend nrp_services if {{ path_beg /nrp-services/ }}
    default_backend nrp_frontend

backend nrp_proxy
    http-request replace-path /(proxy|storage)(/.*) \\2
    server proxy 127.0.0.1:{ports.proxy}

backend nrp_services
    http-request replace-path /nrp-services(/.*) /nrp\\1
{token_swap}    server jupyter 127.0.0.1:{ports.jupyter}

backend nrp_frontend
    server frontend 127.0.0.1:{ports.frontend}

backend mqtt_websockets
    server mosquitto 127.0.0.1:{ports.mqtt_websockets}
"""
    (layout.run / "haproxy.cfg").write_text(text)


def write_mosquitto_config(layout: Layout) -> None:
    ports = layout.ports
    text = f"""# NRP's broker (nrp-user-scripts, config_files/mosquitto): MQTT for servers, websockets for browsers.
listener {ports.mqtt} 127.0.0.1
protocol mqtt

listener {ports.mqtt_websockets} 127.0.0.1
protocol websockets

allow_anonymous true
persistence false
"""
    (layout.run / "mosquitto.conf").write_text(text)


def write_template(layout: Layout) -> None:
    """tf_exchange as a template experiment (a folder of templatesPath.FS), made live: the wall-clock
    paced script and a longer timeout, so that its clock can be watched, paused and stopped."""
    source = PROJECT / "experiments" / TEMPLATE_NAME
    target = layout.templates / TEMPLATE_NAME
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("*.zip", "data", "__pycache__"))
    shutil.copyfile(LIVE_MAIN_SCRIPT, target / "main_script.py")
    for config_path in target.glob("simulation_config*.json"):
        config = json.loads(config_path.read_text())
        config["SimulationTimeout"] = LIVE_TIMEOUT_S
        config_path.write_text(json.dumps(config, indent=4))


def read_or_create_token(path: Path, create) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    token = create()
    path.write_text(token)
    return token
