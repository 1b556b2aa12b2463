"""CI check: every endpoint of the nrp_jupyter extension authenticates and authorizes its requests.

Builds a Jupyter server that refuses unauthenticated access, loads only nrp_jupyter with extension
failures re-raised and JupyterServerAuthWarning turned into an error, then inspects every handler
the extension registered:

- each HTTP verb must carry `@tornado.web.authenticated` and jupyter_server's `@authorized`;
- a WebSocket's `get` must carry `@ws_authenticated`, and its class a `pre_get` that authorizes
  the upgrade (jupyter_server's pattern, spec/jupyter.md §1.4).

The check runs twice: as configured, and in NRP mode (`nrp_proxy_url` set), where the reads NRP's
backend serves to anyone (handlers.OPEN_IN_NRP_MODE) may instead be GETs marked
`@allow_unauthenticated`; nothing else may, and outside NRP mode nothing at all.

Exits 0 when all pass, 1 naming each handler and verb that does not. Extra arguments are passed to
the server (`--NrpJupyterApp.<trait>=...`); by default the server's root, the registry and the
Jupyter directories are in a temporary folder and the MQTT broker and the NRP proxy are
unreachable addresses, so the check starts no broker and touches no user data.

    .venv/bin/python scripts/check_auth.py
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
import warnings

EXTENSION = "nrp_jupyter"
# Nothing listens on port 1: the publisher retries in the background and never blocks the check.
UNREACHABLE_BROKER = "127.0.0.1:1"
NRP_MODE = "--NrpJupyterApp.nrp_proxy_url=http://127.0.0.1:1/storage"


def _wrapper_chain(method):
    """The method and every function it wraps (functools.wraps sets `__wrapped__`)."""
    while method is not None:
        yield method
        method = getattr(method, "__wrapped__", None)


def _qualnames(method) -> list[str]:
    return [getattr(getattr(function, "__code__", None), "co_qualname", "") for function in _wrapper_chain(method)]


def _is_authenticated(method) -> bool:
    # tornado's @web.authenticated wrapper is `authenticated.<locals>.wrapper`, the check
    # jupyter_server itself applies (serverapp._has_tornado_web_authenticated).
    return any(name.startswith("authenticated.") for name in _qualnames(method))


def _is_ws_authenticated(method) -> bool:
    # @ws_authenticated marks its wrapper with __allow_unauthenticated = False.
    return any(getattr(function, "__allow_unauthenticated", None) is False for function in _wrapper_chain(method))


def _is_authorized(method) -> bool:
    return any(name.startswith("authorized.") for name in _qualnames(method))


def _handler_rules(router, pattern: str = ""):
    """(URL pattern, handler class) of every rule below a tornado router."""
    for rule in getattr(router, "rules", []):
        regex = getattr(rule.matcher, "regex", None)
        here = regex.pattern if regex is not None else pattern
        if hasattr(rule.target, "rules"):
            yield from _handler_rules(rule.target, here)
        elif isinstance(rule.target, type):
            yield here, rule.target


def _is_jupyter_cors_preflight(method) -> bool:
    # APIHandler.options answers CORS preflights, which carry no credentials by design; it is
    # jupyter_server's own, marked @allow_unauthenticated, and does nothing but set headers.
    return (method.__name__ == "options" and method.__module__ == "jupyter_server.base.handlers"
            and getattr(method, "__allow_unauthenticated", False))


def _is_open_in_nrp_mode(method, verb: str, pattern: str, nrp_mode: bool) -> bool:
    """A verb NRP's backend serves to anyone, marked so, in NRP mode."""
    from nrp_jupyter.server.handlers import OPEN_IN_NRP_MODE

    route = pattern.removesuffix("$")
    return (nrp_mode and getattr(method, "__allow_unauthenticated", False)
            and any(verb == open_verb and route.endswith(open_route) for open_route, open_verb in OPEN_IN_NRP_MODE))


def problems_of(handler_class, pattern: str, nrp_mode: bool = False) -> list[str]:
    """What is missing on one handler class, one line per verb."""
    from tornado import web, websocket

    problems = []
    name = f"{handler_class.__name__} ({pattern})"
    if issubclass(handler_class, websocket.WebSocketHandler):
        if not _is_ws_authenticated(handler_class.get) and not _is_authenticated(handler_class.get):
            problems.append(f"- WebSocket GET of {name} is not @ws_authenticated")
        defines_pre_get = any("pre_get" in vars(klass) for klass in handler_class.__mro__
                              if not klass.__module__.startswith(("jupyter_server.", "tornado.")))
        if not defines_pre_get:
            problems.append(f"- WebSocket GET of {name} authorizes nothing before the upgrade (no pre_get)")
        return problems
    for verb in handler_class.SUPPORTED_METHODS:
        method = getattr(handler_class, verb.lower(), None)
        if method is None or method is web.RequestHandler._unimplemented_method:
            continue
        if _is_jupyter_cors_preflight(method) or _is_open_in_nrp_mode(method, verb, pattern, nrp_mode):
            continue
        if not _is_authenticated(method):
            problems.append(f"- {verb} of {name} is not @web.authenticated")
        if not _is_authorized(method):
            problems.append(f"- {verb} of {name} is not @authorized")
    return problems


def check(argv: list[str], workdir: str) -> list[str]:
    """Loads the extension into a server that refuses unauthenticated access; returns the problems.
    `workdir` holds the server's root, its registry and (unless set) the Jupyter directories."""
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.utils import JupyterServerAuthWarning
    from traitlets.config import Config

    for variable, folder in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_DATA_DIR", "data"),
                             ("JUPYTER_RUNTIME_DIR", "runtime")):
        os.environ.setdefault(variable, os.path.join(workdir, folder))
    config = Config()
    config.ServerApp.root_dir = workdir
    config.ServerApp.open_browser = False
    config.NrpJupyterApp.database_path = os.path.join(workdir, "simulations.sqlite")
    config.NrpJupyterApp.mqtt_broker = UNREACHABLE_BROKER

    warnings.simplefilter("error", JupyterServerAuthWarning)
    app = ServerApp(config=config, allow_unauthenticated_access=False,
                    jpserver_extensions={EXTENSION: True}, reraise_server_extension_failures=True)
    try:
        app.initialize(argv=argv, find_extensions=False, new_httpserver=False)
        return _audit(app, nrp_mode=bool(app.extension_manager.extensions[EXTENSION].extension_points[EXTENSION]
                                         .app.nrp_proxy_url))
    except JupyterServerAuthWarning as warning:
        return [str(warning)]
    finally:
        # The extension's stop hook ends its MQTT publisher and closes its registry.
        asyncio.run(app.cleanup_extensions())


def _audit(app, nrp_mode: bool) -> list[str]:
    loaded = app.extension_manager.extensions.get(EXTENSION)
    if loaded is None or not loaded.enabled:
        return [f"- the extension {EXTENSION} was not loaded"]
    found = [(pattern, handler) for pattern, handler in _handler_rules(app.web_app.default_router)
             if handler.__module__.split(".")[0] == EXTENSION]
    if not found:
        return [f"- the extension {EXTENSION} registered no handlers"]
    problems = []
    for pattern, handler in found:
        problems.extend(problems_of(handler, pattern, nrp_mode))
    return problems


def main(argv: list[str]) -> int:
    problems = []
    # Jupyter's directories that the caller did not set: each run gets its own, in its workdir.
    unset = [name for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR") if name not in os.environ]
    for mode_argv, mode in ((argv, ""), ([*argv, NRP_MODE], " (NRP mode)")):
        workdir = tempfile.mkdtemp(prefix="nrp-check-auth-")
        try:
            problems.extend(f"{line}{mode}" for line in check(mode_argv, workdir))
        finally:
            shutil.rmtree(workdir, ignore_errors=True)
            for name in unset:
                os.environ.pop(name, None)
    if problems:
        print(f"{EXTENSION}: endpoints without authentication or authorization:", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"{EXTENSION}: every endpoint is authenticated and authorized")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
