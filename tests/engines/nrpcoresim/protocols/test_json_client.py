"""What JSON datapacks look like on the JSON/REST engine protocol's wire."""

import pytest

from engines.datapacks import JsonDataPack
from engines.nrpcoresim.protocols.json_client import _set_body
from tests.engines.nrpcoresim.protocols.contract.cases import PYTHON_JSON, read
from tests.engines.nrpcoresim.protocols.contract.harness import EngineUnderTest


def test_a_datapack_never_filled_is_sent_as_null_as_nrp_core_does():
    unfilled, emptied_object = JsonDataPack("a", "e"), JsonDataPack("b", "e", {})
    listed = JsonDataPack("c", "e")
    listed.data.append(1)
    body = _set_body([unfilled, emptied_object, listed])
    assert body["a"]["data"] is None
    assert body["b"]["data"] == {}
    assert body["c"]["data"] == [1]


@pytest.mark.timeout(60)
def test_the_engine_receives_null_for_an_unfilled_datapack(tmp_path, no_leftover_processes):
    for name, text in PYTHON_JSON.files.items():
        (tmp_path / name).write_text(text)
    engine = EngineUnderTest(PYTHON_JSON.engine, tmp_path)
    try:
        engine.start()
        engine.client.initialize()
        engine.client.set_datapacks([JsonDataPack("command", engine.client.name, {"speed": 1})])
        engine.client.run_loop_step(engine.timestep_ns)
        engine.client.set_datapacks([JsonDataPack("command", engine.client.name)])
        engine.client.run_loop_step(engine.timestep_ns)
        # The echo engine copies what it was sent; null reads back as an empty datapack.
        assert read(engine, "echo").isEmpty()
    finally:
        engine.close()
