"""The engine contract, the same for every engine type (cases.py): an engine launched as NRPCoreSim
launches it initialises, steps, serves and accepts datapacks, resets, shuts down, and a crash of its
process is reported naming it."""

import pytest

from engines.errors import EngineCrashed, EngineError
from tests.engines.nrpcoresim.protocols.contract.cases import CASES, read
from tests.engines.nrpcoresim.protocols.contract.harness import EngineUnderTest

pytestmark = [pytest.mark.timeout(90), pytest.mark.usefixtures("no_leftover_processes")]


@pytest.fixture(params=CASES, ids=[case.id for case in CASES])
def case(request):
    return request.param


@pytest.fixture
def engine(case, tmp_path):
    for name, text in case.files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    eut = EngineUnderTest(case.engine, tmp_path)
    try:
        eut.start()
        eut.client.initialize()
        yield eut
    finally:
        eut.close()


def test_steps_advance_the_engine_clock_by_the_timestep(engine):
    times = [engine.client.run_loop_step(engine.timestep_ns) for _ in range(5)]
    assert times == [engine.timestep_ns * n for n in range(1, 6)]


@pytest.mark.parametrize("case", [case for case in CASES if case.readable], ids=lambda case: case.id)
def test_the_readable_datapack_is_served_with_its_type(case, engine):
    engine.client.run_loop_step(engine.timestep_ns)
    datapack = read(engine, case.readable, case.readable_type)
    assert not datapack.isEmpty(), engine.output()
    assert datapack.type == case.readable_type
    assert datapack.engine_name == engine.client.name


def test_a_datapack_sent_to_the_engine_reaches_the_simulation(case, engine):
    case.check_set(engine)


def test_reset_rewinds_the_clock(case, engine):
    for _ in range(3):
        engine.client.run_loop_step(engine.timestep_ns)
    engine.client.reset()
    first = engine.client.run_loop_step(engine.timestep_ns)
    assert first == (engine.timestep_ns if case.reset_rewinds_time else 4 * engine.timestep_ns)
    if case.readable:
        assert not read(engine, case.readable, case.readable_type).isEmpty()


def test_shutdown_ends_the_process_cleanly(engine):
    engine.client.run_loop_step(engine.timestep_ns)
    engine.client.shutdown()
    assert engine.wait_exit() == 0, engine.output()


def test_a_killed_engine_is_reported_by_name(engine):
    engine.client.run_loop_step(engine.timestep_ns)
    engine.kill()
    with pytest.raises(EngineError) as raised:
        engine.client.run_loop_step(engine.timestep_ns)
    assert isinstance(raised.value, EngineCrashed), raised.value
    assert engine.client.name in str(raised.value)
