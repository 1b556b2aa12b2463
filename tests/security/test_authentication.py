"""Every route the extension registers needs the token (REST and the /events WebSocket), and a
request authenticated by the login cookie must carry the XSRF token to change anything.

The routes come from the running server's router, not from a list in this file, so that a route
added later is checked without a change here.
"""

import re
import urllib.parse

import pytest
from tornado import websocket
from tornado.httpclient import HTTPClientError, HTTPRequest

pytestmark = pytest.mark.timeout(120)

VERBS = ("GET", "POST", "PUT", "DELETE", "PATCH")


def extension_routes(serverapp) -> list[tuple[str, type]]:
    """(URL pattern, handler class) of every rule the nrp_jupyter extension registered."""

    def walk(router, pattern=""):
        for rule in getattr(router, "rules", []):
            regex = getattr(rule.matcher, "regex", None)
            here = regex.pattern if regex is not None else pattern
            if hasattr(rule.target, "rules"):
                yield from walk(rule.target, here)
            elif isinstance(rule.target, type) and rule.target.__module__.startswith("nrp_jupyter."):
                yield here, rule.target

    return list(walk(serverapp.web_app.default_router))


def concrete_path(pattern: str) -> str:
    """A path the pattern matches: named groups become 0, `.*` becomes a word."""
    path = re.sub(r"\(\?P<\w+>[^)]*\)", "0", pattern).replace(".*", "anything").rstrip("$")
    return path.lstrip("/")


def implemented_verbs(handler) -> list[str]:
    from tornado.web import RequestHandler

    return [verb for verb in VERBS if getattr(handler, verb.lower()) is not RequestHandler._unimplemented_method]


def is_websocket(handler) -> bool:
    return issubclass(handler, websocket.WebSocketHandler)


def test_the_router_lists_every_route_of_the_extension(jp_serverapp):
    from nrp_jupyter.server.handlers import handlers

    routes = extension_routes(jp_serverapp)
    registered = {handler for _, handler in routes}
    assert {handler for _, handler in handlers()} <= registered
    assert any(is_websocket(handler) for handler in registered)


async def test_every_rest_route_and_verb_refuses_a_request_without_the_token(jp_serverapp, jp_base_url, raw):
    checked = 0
    for pattern, handler in extension_routes(jp_serverapp):
        if is_websocket(handler):
            continue
        path = concrete_path(pattern).removeprefix(jp_base_url.lstrip("/"))
        for verb in implemented_verbs(handler):
            for headers in ({}, {"Authorization": "token wrong"}):
                code, _, body = await raw(verb, path, headers=headers, body='{"experimentID": "tf_exchange"}')
                assert code == 403, (verb, path, headers, body)
            code, _, _ = await raw(verb, f"{path}?token=wrong", body='{"experimentID": "tf_exchange"}')
            assert code == 403, (verb, path)
            checked += 1
    assert checked >= 9


async def test_every_websocket_route_refuses_an_upgrade_without_the_token(jp_serverapp, http_server_client,
                                                                         jp_http_port, jp_auth_header):
    sockets = [pattern for pattern, handler in extension_routes(jp_serverapp) if is_websocket(handler)]
    assert sockets
    for pattern in sockets:
        url = f"ws://localhost:{jp_http_port}/{concrete_path(pattern)}"
        for request in (HTTPRequest(url), HTTPRequest(url, headers={"Authorization": "token wrong"}),
                        HTTPRequest(f"{url}?token=wrong")):
            with pytest.raises(HTTPClientError) as refused:
                await websocket.websocket_connect(request)
            assert refused.value.code == 403, request.url
        connection = await websocket.websocket_connect(HTTPRequest(url, headers=jp_auth_header))
        connection.close()


# -- XSRF --------------------------------------------------------------------------------------


def cookies_of(headers) -> dict[str, str]:
    jar = {}
    for line in headers.get_list("Set-Cookie"):
        name, _, rest = line.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def cookie_header(jar: dict[str, str]) -> str:
    return "; ".join(f"{name}={value}" for name, value in jar.items())


async def log_in(raw, jp_auth_header) -> dict[str, str]:
    """Cookies of a browser that logged in with the token through Jupyter's login form."""
    token = jp_auth_header["Authorization"].split()[-1]
    code, headers, _ = await raw("GET", "login")
    assert code == 200
    jar = cookies_of(headers)
    xsrf = jar["_xsrf"]
    form = urllib.parse.urlencode({"_xsrf": xsrf, "password": token})
    code, headers, _ = await raw("POST", "login", body=form,
                                 headers={"Cookie": cookie_header(jar),
                                          "Content-Type": "application/x-www-form-urlencoded"})
    assert code == 302, code
    jar.update(cookies_of(headers))
    assert any(name.startswith("username-") for name in jar), jar
    return jar


async def test_a_cookie_authenticates_reads(raw, jp_auth_header):
    logged_in = await log_in(raw, jp_auth_header)
    code, _, body = await raw("GET", "nrp/simulation", headers={"Cookie": cookie_header(logged_in)})
    assert (code, body) == (200, [])


UNSAFE = [("POST", "nrp/simulation", '{"experimentID": "no_such_experiment"}'),
          ("PUT", "nrp/simulation/0/state", '{"state": "started"}'),
          ("DELETE", "nrp/simulation/0", None)]


@pytest.mark.parametrize(("method", "path", "body"), UNSAFE)
async def test_a_cookie_authenticated_change_without_the_xsrf_token_is_refused(raw, jp_auth_header, method, path,
                                                                              body):
    logged_in = await log_in(raw, jp_auth_header)
    cookies = {"Cookie": cookie_header(logged_in)}
    code, _, answer = await raw(method, path, headers=cookies, body=body)
    assert code == 403, answer
    assert "xsrf" in answer["message"].lower()
    code, _, answer = await raw(method, path, headers={**cookies, "X-XSRFToken": "forged"}, body=body)
    assert code == 403, answer
    # With the token that matches the cookie, the request passes the check and reaches the API.
    code, _, answer = await raw(method, path, headers={**cookies, "X-XSRFToken": logged_in["_xsrf"]}, body=body)
    assert code == 404, answer
