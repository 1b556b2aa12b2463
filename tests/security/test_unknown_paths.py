"""Paths under /nrp/ that no route serves answer in NRP's JSON, and only to an authenticated client.

Found by the OpenAPI fuzzer: `GET /nrp/simulation/true` got Jupyter's HTML 404 page, which the
document does not declare.
"""

import pytest

pytestmark = pytest.mark.timeout(60)

UNKNOWN = ["nrp/simulation/true", "nrp/simulation/-1", "nrp/simulation/0/nothing", "nrp/nothing", "nrp/"]


@pytest.mark.parametrize("path", UNKNOWN)
async def test_an_unknown_path_is_a_json_404_with_the_token(raw, jp_auth_header, path):
    for method in ("GET", "POST", "PUT", "DELETE", "PATCH"):
        code, headers, body = await raw(method, path, headers=dict(jp_auth_header), body="{}")
        assert code == 404, (method, path, body)
        assert headers["Content-Type"].startswith("application/json"), (method, path)
        assert body["type"] == "Client error"
        assert path in body["message"]


@pytest.mark.parametrize("path", UNKNOWN)
async def test_an_unknown_path_is_refused_without_the_token(raw, path):
    for method in ("GET", "POST", "DELETE"):
        code, _, body = await raw(method, path, body="{}")
        assert code == 403, (method, path, body)
