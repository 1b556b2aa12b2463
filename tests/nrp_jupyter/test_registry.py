"""The SQLite registry: ids, persistence across reopening, recovery after a restart."""

import sqlite3
import threading

import pytest

from nrp_jupyter.server.errors import GeneralError, RecordsUnavailable, SimulationNotFound
from nrp_jupyter.server.lifecycle import SimulationState
from nrp_jupyter.server.registry import SCHEMA_VERSION, Registry
from nrp_jupyter.server.models import Simulation

RESTART = "the Jupyter server restarted while the simulation was running"


def make_simulation(simulation_id: int, state=SimulationState.CREATED, **overrides) -> Simulation:
    fields = dict(simulation_id=simulation_id, experiment_id=f"exp_{simulation_id}", owner="alice",
                  creation_date="2024-03-01T10:15:00+01:00", ctx_id=None, mqtt_prefix="lab", state=state,
                  updated_at="2024-03-01T10:15:00+01:00")
    fields.update(overrides)
    return Simulation(**fields)


@pytest.fixture
def registry():
    with Registry(":memory:") as opened:
        yield opened


def test_ids_count_from_zero(registry):
    assert [registry.allocate_id() for _ in range(4)] == [0, 1, 2, 3]


def test_add_get_list(registry):
    first = make_simulation(registry.allocate_id())
    second = make_simulation(registry.allocate_id(), runtime_error={"msg": "x", "line_number": -1},
                             last_status={"realTime": 1.5, "state": "paused"}, nrpcoresim_pid=99,
                             kernel_id="k", simulation_dir="/tmp/nrp.1.x", reason=None, ctx_id="ctx")
    registry.add(second)
    registry.add(first)
    assert registry.get(0) == first
    assert registry.get(1) == second
    assert registry.get(2) is None
    assert [s.simulation_id for s in registry.list()] == [0, 1]
    assert registry.list() == [first, second]


def test_records_come_back_typed(registry):
    registry.add(make_simulation(0, SimulationState.STARTED, last_status={"simulationTime": 0.25}))
    loaded = registry.get(0)
    assert loaded.state is SimulationState.STARTED
    assert loaded.last_status == {"simulationTime": 0.25}
    assert loaded.to_nrp_json()["state"] == "started"


def test_update_overwrites_and_stamps(registry):
    simulation = make_simulation(registry.allocate_id())
    registry.add(simulation)
    simulation.state = SimulationState.PAUSED
    simulation.kernel_id = "kernel-7"
    simulation.runtime_error = {"msg": "NameError", "error_type": "Compile"}
    registry.update(simulation)
    loaded = registry.get(0)
    assert loaded.state == SimulationState.PAUSED
    assert loaded.kernel_id == "kernel-7"
    assert loaded.runtime_error == {"msg": "NameError", "error_type": "Compile"}
    assert loaded.updated_at != "2024-03-01T10:15:00+01:00"
    assert loaded.updated_at == simulation.updated_at


def test_update_of_a_deleted_record(registry):
    registry.add(make_simulation(0))
    assert registry.delete(0) is True
    with pytest.raises(SimulationNotFound) as caught:
        registry.update(make_simulation(0))
    assert caught.value.simulation_id == 0


def test_add_twice_is_refused(registry):
    registry.add(make_simulation(0))
    with pytest.raises(ValueError, match="simulation id 0 is already in the registry"):
        registry.add(make_simulation(0))


def test_delete(registry):
    registry.add(make_simulation(registry.allocate_id()))
    registry.add(make_simulation(registry.allocate_id()))
    assert registry.delete(0) is True
    assert registry.delete(0) is False
    assert registry.get(0) is None
    assert [s.simulation_id for s in registry.list()] == [1]


def test_ids_are_never_reused_after_delete(registry):
    for _ in range(3):
        registry.add(make_simulation(registry.allocate_id()))
    registry.delete(2)
    registry.delete(1)
    assert registry.allocate_id() == 3


def test_an_id_added_by_hand_moves_the_counter(registry):
    registry.add(make_simulation(10))
    assert registry.allocate_id() == 11


def test_records_and_counter_survive_reopening(tmp_path):
    path = tmp_path / "deep" / "er" / "nrp.sqlite"
    with Registry(path) as registry:
        for _ in range(3):
            registry.add(make_simulation(registry.allocate_id(), last_status={"state": "paused"}))
        registry.delete(2)
        registry.allocate_id()  # used up without a record
    assert path.is_file()
    with Registry(path) as reopened:
        assert [s.simulation_id for s in reopened.list()] == [0, 1]
        assert reopened.get(1) == make_simulation(1, last_status={"state": "paused"})
        assert reopened.allocate_id() == 4


def test_schema_version_is_stored(tmp_path):
    path = tmp_path / "nrp.sqlite"
    Registry(path).close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
    connection.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "nrp.sqlite"
    Registry(path).close()
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA user_version = 9")
    connection.commit()
    connection.close()
    with pytest.raises(RecordsUnavailable) as caught:
        Registry(path)
    assert caught.value.message.startswith(f"The simulation records in {path} cannot be used: the file has "
                                           "schema version 9, and this nrp-jupyter reads up to version 1.")
    assert caught.value.http_status == 503


def test_a_database_whose_folder_cannot_be_made(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(GeneralError) as caught:
        Registry(blocker / "nrp.sqlite")
    assert caught.value.message.startswith(
        f"Internal server error: could not open the simulation registry {blocker / 'nrp.sqlite'}: ")


def refused(path) -> str:
    before = path.read_bytes()
    with pytest.raises(RecordsUnavailable) as caught:
        Registry(path)
    assert path.read_bytes() == before  # never replaced, never repaired
    assert str(path) in caught.value.message and "Move it aside" in caught.value.message
    return caught.value.message


def test_a_file_that_is_not_a_database(tmp_path):
    path = tmp_path / "nrp.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    assert "is not an SQLite database" in refused(path)


def test_an_empty_file_is_not_taken_for_a_new_database(tmp_path):
    path = tmp_path / "nrp.sqlite"
    with Registry(path) as registry:
        registry.allocate_id()
    path.write_bytes(b"")
    assert "is empty (0 bytes)" in refused(path)


def test_another_programs_database_is_refused(tmp_path):
    path = tmp_path / "nrp.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE notes (text TEXT)")
    connection.close()
    assert "holds tables that are not nrp-jupyter's (notes)" in refused(path)


def test_a_database_with_damaged_pages_is_refused(tmp_path):
    path = tmp_path / "nrp.sqlite"
    with Registry(path) as registry:
        for _ in range(300):
            registry.add(make_simulation(registry.allocate_id(), reason="x" * 200))
    data = bytearray(path.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    # Scribble over the second page (the first table's b-tree root); the header stays valid.
    data[page_size:page_size + 64] = b"\xff" * 64
    path.write_bytes(bytes(data))
    assert "the file is damaged (" in refused(path)


def test_ids_start_after_an_id_reserved_by_archives(registry):
    registry.allocate_id()
    registry.reserve_ids_below(12)
    assert registry.allocate_id() == 12
    registry.reserve_ids_below(5)  # never backwards
    assert registry.allocate_id() == 13


def test_recover_fails_every_running_record(registry):
    states = [SimulationState.CREATED, SimulationState.PAUSED, SimulationState.STARTED,
              SimulationState.COMPLETED, SimulationState.STOPPED, SimulationState.FAILED]
    for simulation_id, state in enumerate(states):
        registry.add(make_simulation(simulation_id, state, nrpcoresim_pid=1000 + simulation_id,
                                     simulation_dir=f"/tmp/nrp.{simulation_id}.x",
                                     reason="engine died" if state is SimulationState.FAILED else None))
    recovered = registry.recover(RESTART)
    assert [s.simulation_id for s in recovered] == [0, 1, 2, 3]
    assert all(s.state is SimulationState.FAILED and s.reason == RESTART for s in recovered)
    # The caller needs these to end leftover processes and remove directories.
    assert [s.nrpcoresim_pid for s in recovered] == [1000, 1001, 1002, 1003]
    assert [s.simulation_dir for s in recovered] == [f"/tmp/nrp.{i}.x" for i in range(4)]
    stored = {s.simulation_id: (s.state, s.reason) for s in registry.list()}
    assert stored == {
        0: (SimulationState.FAILED, RESTART),
        1: (SimulationState.FAILED, RESTART),
        2: (SimulationState.FAILED, RESTART),
        3: (SimulationState.FAILED, RESTART),
        4: (SimulationState.STOPPED, None),
        5: (SimulationState.FAILED, "engine died"),
    }
    assert registry.recover(RESTART) == []


def test_recover_persists(tmp_path):
    path = tmp_path / "nrp.sqlite"
    with Registry(path) as registry:
        registry.add(make_simulation(registry.allocate_id(), SimulationState.STARTED))
    with Registry(path) as registry:
        assert [s.simulation_id for s in registry.recover(RESTART)] == [0]
    with Registry(path) as registry:
        assert registry.get(0).state is SimulationState.FAILED
        assert registry.get(0).reason == RESTART


def test_ids_from_many_threads_are_unique(registry):
    ids: list[int] = []
    lock = threading.Lock()

    def allocate():
        for _ in range(50):
            new_id = registry.allocate_id()
            with lock:
                ids.append(new_id)

    threads = [threading.Thread(target=allocate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(ids) == list(range(200))
