"""What an experiment kernel inherits from the server's environment: everything but its secrets.

The kernel manager replaces a kernel's environment instead of merging it, so experiment kernels
are given the server's own environment. The server's token must not come with it: an experiment's
main script, transceiver functions and engines are code from the experiment's folder, and with the
token they could drive the whole server (other users' simulations, terminals, files). NRPCoreSim
and the engines inherit the kernel's environment, so they are covered too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

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
