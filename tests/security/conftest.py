"""The security tests reuse the REST fixtures of tests/conftest.py (an in-process server with the
extension, a real mosquitto, the shipped experiments) and add a request helper that sends exactly
the headers and cookies a test gives."""

import json

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest


@pytest.fixture
def raw(http_server_client, jp_http_port, jp_base_url):
    """`await raw(method, path, headers=, body=)` to `<base_url><path>`: (code, headers, decoded body).
    Nothing is added: no token, no cookie, no XSRF header unless given."""

    async def send(method, path, *, headers=None, body=None):
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if body is None and method in ("POST", "PUT", "PATCH"):
            body = ""
        request = HTTPRequest(f"http://localhost:{jp_http_port}{jp_base_url}{path}", method=method,
                              headers=headers or {}, body=body, follow_redirects=False,
                              allow_nonstandard_methods=True)
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as error:
            response = error.response
        text = response.body.decode() if response.body else ""
        try:
            decoded = json.loads(text) if text else None
        except ValueError:
            decoded = text
        return response.code, response.headers, decoded

    return send
