"""Fixtures of the engine tests that more than one folder uses: the registration server engines
report their address to, and raw clients of python_json engines."""

import pytest

from tests.engines.servers.conftest import JsonClient, Registrar


@pytest.fixture
def registrar():
    registrar = Registrar()
    yield registrar
    registrar.close()


@pytest.fixture
def json_client():
    clients: list[JsonClient] = []

    def connect(address: str) -> JsonClient:
        clients.append(JsonClient(address))
        return clients[-1]

    yield connect
    for client in clients:
        client.close()
