"""The server starts its MQTT clients once its embedded broker listens: a start logs no
"unreachable" for a broker that is about to be there. Read from a real server's log."""

import pytest

from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)


def test_a_server_start_raises_no_false_alarm_about_its_own_broker(live_server):
    # Both MQTT clients of the server (the publisher and the datapack bridge) have connected.
    eventually(lambda: live_server.call("GET", "version")[0] == 200, 20, what="the server")
    log = live_server.log_path.read_text()
    assert "nrp_jupyter: experiments in" in log and "(embedded)" in log
    assert "unreachable" not in log, log[-3000:]
