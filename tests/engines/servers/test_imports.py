"""Importing the server modules starts nothing."""

import subprocess
import sys

import pytest

from tests.engines.servers.conftest import engine_env

CHECK = """
import threading, signal
before = threading.active_count()
handlers = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)]
import engines.servers.python_json, engines.servers.python_grpc, nrp_core.engines.python_json
import nrp_core.engines.python_grpc
assert threading.active_count() == before, threading.enumerate()
assert [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)] == handlers
import logging
assert not logging.getLogger().handlers
"""


@pytest.mark.timeout(30)
def test_importing_starts_no_thread_and_installs_nothing():
    result = subprocess.run([sys.executable, "-c", CHECK], env=engine_env(), capture_output=True, timeout=20)
    assert result.returncode == 0, result.stderr.decode()
