"""What an experiment kernel inherits from the server's environment: everything but its secrets.

The kernel manager replaces a kernel's environment instead of merging it, so experiment kernels
are given the server's own environment. The server's token must not come with it: an experiment's
main script, transceiver functions and engines are code from the experiment's folder, and with the
token they could drive the whole server (other users' simulations, terminals, files). NRPCoreSim
and the engines inherit the kernel's environment, so they are covered too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

# Variables that hold a Jupyter or JupyterHub credential, whatever their value.
SECRET_VARIABLES = frozenset({"JUPYTER_TOKEN", "JPY_API_TOKEN", "JUPYTERHUB_API_TOKEN"})
# A shorter secret would match unrelated values (a one-letter token is in every PATH); such a
# token is no protection anyway.
MIN_SECRET_LENGTH = 8


def inherited_environment(environment: Mapping[str, str], secrets: Iterable[str] = ()) -> dict[str, str]:
    """`environment` without the credential variables and without any variable whose value
    contains one of `secrets` (the server's token in a URL, for example)."""
    values = [secret for secret in secrets if secret and len(secret) >= MIN_SECRET_LENGTH]
    return {name: value for name, value in environment.items()
            if name not in SECRET_VARIABLES and not any(secret in value for secret in values)}


def unreachable_broker_warning(broker: str, gateway_url: str) -> str | None:
    """Why the kernels of the gateway at `gateway_url` cannot reach the MQTT `broker` (host:port), or
    None. A kernel gateway forwards only KERNEL_* variables, so the broker's address is all they get
    of it: one on the server's loopback is another machine's loopback for a remote gateway."""
    gateway_host = urlsplit(gateway_url).hostname or ""
    broker_host = broker.rsplit(":", 1)[0].strip("[]")
    if _is_loopback(broker_host) and gateway_host and not _is_loopback(gateway_host):
        return (f"the MQTT broker {broker} is on this server's loopback, but experiment kernels run on the "
                f"gateway at {gateway_host}: their datatransfer engines cannot reach it (set "
                f"NrpJupyterApp.mqtt_broker to an address both reach)")
    return None


def _is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")
