"""GET /simulation/<id>/details: NRP's JSON plus the last runtime error, failure reason and status,
for clients (a control panel, `%nrp status`) that open after the fact."""

import pytest

from tests.waiting import eventually_async

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("no_leftover_processes")]

RAISING_SCRIPT = "nrp.run_loop(1)\nnrp.run_loop(1)\nraise ValueError('the script gave up')\n"


async def wait_details(nrp, simulation_id, predicate, timeout=20.0):
    last = {}

    async def matching():
        code, details, _ = await nrp.call("GET", "simulation", str(simulation_id), "details")
        assert code == 200, details
        last.update(details)
        return details if predicate(details) else None

    return await eventually_async(matching, timeout, lambda: f"details: {last}", every_s=0.05)


async def test_details_keep_the_runtime_error_after_it_was_published(nrp, experiments_root):
    (experiments_root / "tf_exchange" / "raising_script.py").write_text(RAISING_SCRIPT)
    code, launched, _ = await nrp.launch(mainScript="raising_script.py")
    assert code == 201, launched
    simulation_id = launched["simulationID"]
    fresh = await wait_details(nrp, simulation_id, lambda d: True)
    assert fresh["runtimeError"] is None and fresh["reason"] is None
    assert {key: fresh[key] for key in launched} == launched
    await nrp.put_state(simulation_id, "started")
    details = await wait_details(nrp, simulation_id, lambda d: d["runtimeError"] is not None)
    error = details["runtimeError"]
    assert error["error_type"] == "Runtime" and "the script gave up" in error["msg"]
    assert error["fileName"].endswith("raising_script.py") and error["line_number"] == 3
    assert details["status"]["simulationTime"] > 0


async def test_details_of_an_unknown_simulation_is_nrps_404(nrp):
    code, body, _ = await nrp.call("GET", "simulation", "99", "details")
    assert code == 404 and set(body) == {"message", "type", "data"}
