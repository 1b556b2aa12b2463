"""Tell the engine's client where the engine serves: nrp-core's registration POST
(engines.engine_wire's registration), sent to `http://<regservurl>` after the server is listening.
nrp-core's engines retry 10 times, 1 s apart; so do we, since the client may still be starting its
registration server.
"""

import http.client
import json
import logging
import time
import urllib.parse
from collections.abc import Callable

from engines import engine_wire as wire

log = logging.getLogger(__name__)

ATTEMPTS = 10
RETRY_DELAY_S = 1.0


class RegistrationError(Exception):
    """The registration server never accepted the registration."""


def _sleep(delay: float) -> bool:
    time.sleep(delay)
    return False


def register(regservurl: str, engine_name: str, address: str, *, attempts: int = ATTEMPTS,
             delay: float = RETRY_DELAY_S, wait: Callable[[float], bool] = _sleep) -> bool:
    """POST the registration; True once accepted, False if `wait(delay)` returned True (stop).

    Raises RegistrationError after `attempts` failures.
    """
    url = regservurl if "://" in regservurl else f"http://{regservurl}"
    parts = urllib.parse.urlsplit(url)
    body = json.dumps({wire.ENGINE_NAME: engine_name, wire.REGISTERED_ADDRESS: address}).encode()
    failure = "no attempt made"
    for attempt in range(1, attempts + 1):
        try:
            status = _post(parts, body)
        except OSError as exc:
            failure = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                log.info("registered %s at %s", address, url)
                return True
            failure = f"HTTP status {status}"
        log.warning("registration attempt %d/%d at %s failed: %s", attempt, attempts, url, failure)
        if attempt < attempts and wait(delay):
            return False
    raise RegistrationError(f"could not register with {url} after {attempts} attempts: {failure}")


def _post(parts: urllib.parse.SplitResult, body: bytes) -> int:
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    try:
        conn.request("POST", parts.path or wire.REGISTRATION_ROUTE, body,
                     {"Content-Type": wire.JSON_CONTENT_TYPE})
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()
