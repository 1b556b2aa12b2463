"""The simulation records, kept in SQLite so that they outlive the server process.

Ids are handed out by a counter stored next to the records, so they follow NRP's 0, 1, 2, ... in
creation order and are never reused, not after a DELETE and not after a restart. A record left in
a running state by a server that went away is marked failed by `recover` at the next start.

A file that is not a sound records database of ours (empty, damaged, another program's, or of a
newer schema) is refused with `RecordsUnavailable`, untouched: it is never taken for a fresh one.

By default each server root has its records (`default_database_path`): ids count per root, as the
experiments and their archives (named by id) are per root, and a server started on a fresh root
starts at simulation 0 rather than after every other server of the account.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nrp_jupyter.server.errors import GeneralError, RecordsUnavailable, SimulationNotFound
from nrp_jupyter.server.lifecycle import FINAL_STATES, SimulationState, Trigger, next_state
from nrp_jupyter.server.models import Simulation, now_iso

# Incremented with each change of the tables below; `_migrate` brings older files up to date.
SCHEMA_VERSION = 1
MEMORY = ":memory:"

# Column name -> Simulation field; the dict-valued fields are stored as JSON text.
_COLUMNS = (
    "simulation_id", "experiment_id", "experiment_configuration", "main_script", "owner",
    "creation_date", "ctx_id", "mqtt_prefix", "state", "kernel_id", "simulation_dir",
    "nrpcoresim_pid", "runtime_error", "reason", "last_status", "updated_at",
)
_JSON_COLUMNS = frozenset({"runtime_error", "last_status"})

_SCHEMA_V1 = """
CREATE TABLE simulations (
    simulation_id INTEGER PRIMARY KEY,
    experiment_id TEXT NOT NULL,
    experiment_configuration TEXT NOT NULL,
    main_script TEXT NOT NULL,
    owner TEXT NOT NULL,
    creation_date TEXT NOT NULL,
    ctx_id TEXT,
    mqtt_prefix TEXT NOT NULL,
    state TEXT NOT NULL,
    kernel_id TEXT,
    simulation_dir TEXT,
    nrpcoresim_pid INTEGER,
    runtime_error TEXT,
    reason TEXT,
    last_status TEXT,
    updated_at TEXT NOT NULL
);
CREATE TABLE id_counter (
    only_row INTEGER PRIMARY KEY CHECK (only_row = 0),
    next_id INTEGER NOT NULL
);
INSERT INTO id_counter (only_row, next_id) VALUES (0, 0);
"""


def default_database_path(data_dir: Path, server_root: Path) -> Path:
    """`<data_dir>/nrp_jupyter/roots/<root's name>-<hash of its absolute path>/simulations.sqlite`:
    one records file per server root (the name is only for a reader; the hash tells roots apart)."""
    root = Path(server_root).resolve()
    key = hashlib.sha256(str(root).encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", root.name)[:40] or "root"
    return Path(data_dir) / "nrp_jupyter" / "roots" / f"{name}-{key}" / "simulations.sqlite"


class Registry:
    """Simulation records in the SQLite file `path` (":memory:" for a throwaway one).

    Safe to call from several threads: one connection, used under a lock.
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != MEMORY and Path(self.path).is_file() and Path(self.path).stat().st_size == 0:
            # SQLite would take an empty file for a new database, and ids would start again at 0.
            raise RecordsUnavailable(self._refusal("is empty (0 bytes): it was truncated"))
        try:
            if self.path != MEMORY:
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise GeneralError(f"could not open the simulation registry {self.path}: {error}") from error
        self._lock = threading.Lock()
        try:
            self._check()
            self._migrate()
        except BaseException:
            self._connection.close()
            raise

    def _refusal(self, problem: str) -> str:
        return (f"The simulation records in {self.path} cannot be used: the file {problem}. It is left as "
                f"it is. Move it aside (or restore a good copy) and restart the server; new records then "
                f"start after the highest simulation ID found in the experiments' archives.")

    def _check(self) -> None:
        """Refuses a file that is not a sound records database of this program."""
        try:
            integrity = self._connection.execute("PRAGMA quick_check").fetchone()[0]
            version = self._connection.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in self._connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.DatabaseError as error:
            problem = "is not an SQLite database" if "not a database" in str(error) else f"is damaged ({error})"
            raise RecordsUnavailable(self._refusal(problem)) from None
        if integrity != "ok":
            raise RecordsUnavailable(self._refusal(f"is damaged (SQLite's check: {integrity})"))
        if version > SCHEMA_VERSION:
            raise RecordsUnavailable(self._refusal(
                f"has schema version {version}, and this nrp-jupyter reads up to version {SCHEMA_VERSION}"))
        ours = {"simulations", "id_counter"}
        if (version == 0 and tables) or (version > 0 and not ours <= tables):
            raise RecordsUnavailable(self._refusal(
                f"holds tables that are not nrp-jupyter's ({', '.join(sorted(tables)) or 'none'})"))

    def _migrate(self) -> None:
        with self._lock, self._transaction():
            version = self._connection.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                for statement in _SCHEMA_V1.split(";"):
                    if statement.strip():
                        self._connection.execute(statement)
            # PRAGMA takes no parameters; the value is our own integer constant.
            self._connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on error; SQLite's errors come out naming the file."""
        try:
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                if self._connection.in_transaction:
                    self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise GeneralError(f"the simulation registry {self.path} failed: {error}") from error

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def reserve_ids_below(self, first_free: int) -> None:
        """Never hand out an id below `first_free` (ids that archives in the storage already carry)."""
        with self._lock, self._transaction():
            self._connection.execute("UPDATE id_counter SET next_id = MAX(next_id, ?)", (first_free,))

    def allocate_id(self) -> int:
        """The next simulation id; it is used up even if no record is ever added with it."""
        with self._lock, self._transaction():
            (next_id,) = self._connection.execute("SELECT next_id FROM id_counter").fetchone()
            self._connection.execute("UPDATE id_counter SET next_id = ?", (next_id + 1,))
        return next_id

    def add(self, simulation: Simulation) -> None:
        """Store a new record; its id must not be taken."""
        row = _to_row(simulation)
        placeholders = ", ".join("?" for _ in _COLUMNS)
        with self._lock, self._transaction():
            try:
                self._connection.execute(
                    f"INSERT INTO simulations ({', '.join(_COLUMNS)}) VALUES ({placeholders})", row)
            except sqlite3.IntegrityError:
                raise ValueError(f"simulation id {simulation.simulation_id} is already in the registry "
                                 f"{self.path}") from None
            # A record added with an id the counter has not handed out yet must still never be reused.
            self._connection.execute("UPDATE id_counter SET next_id = MAX(next_id, ?)",
                                     (simulation.simulation_id + 1,))

    def update(self, simulation: Simulation) -> None:
        """Overwrite the stored record with `simulation`, stamping its `updated_at`.

        Raises `SimulationNotFound` if the record was deleted meanwhile.
        """
        simulation.updated_at = now_iso()
        row = _to_row(simulation)
        assignments = ", ".join(f"{column} = ?" for column in _COLUMNS[1:])
        with self._lock, self._transaction():
            cursor = self._connection.execute(
                f"UPDATE simulations SET {assignments} WHERE simulation_id = ?", (*row[1:], row[0]))
        if cursor.rowcount == 0:
            raise SimulationNotFound(simulation.simulation_id)

    def get(self, simulation_id: int) -> Simulation | None:
        with self._lock:
            row = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM simulations WHERE simulation_id = ?",
                (simulation_id,)).fetchone()
        return None if row is None else _from_row(row)

    def list(self) -> list[Simulation]:
        """Every record, by id."""
        with self._lock:
            rows = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM simulations ORDER BY simulation_id").fetchall()
        return [_from_row(row) for row in rows]

    def delete(self, simulation_id: int) -> bool:
        """Remove a record; False if there was none. Its id stays used."""
        with self._lock, self._transaction():
            cursor = self._connection.execute("DELETE FROM simulations WHERE simulation_id = ?",
                                              (simulation_id,))
        return cursor.rowcount > 0

    def recover(self, reason: str) -> list[Simulation]:
        """At server start: mark every record in a running state failed with `reason`, and return them.

        Their kernels died with the previous server; the records keep `nrpcoresim_pid` and
        `simulation_dir` so that the caller can end leftover processes and clean up.
        """
        running = tuple(state.value for state in SimulationState if state not in FINAL_STATES)
        recovered = []
        with self._lock, self._transaction():
            rows = self._connection.execute(
                f"SELECT {', '.join(_COLUMNS)} FROM simulations "
                f"WHERE state IN ({', '.join('?' for _ in running)}) ORDER BY simulation_id",
                running).fetchall()
            for row in rows:
                simulation = _from_row(row)
                simulation.apply(next_state(simulation.state, Trigger.FAILED))
                simulation.reason = reason
                self._connection.execute(
                    "UPDATE simulations SET state = ?, reason = ?, updated_at = ? WHERE simulation_id = ?",
                    (simulation.state.value, reason, simulation.updated_at, simulation.simulation_id))
                recovered.append(simulation)
        return recovered


def _to_row(simulation: Simulation) -> tuple[Any, ...]:
    values = []
    for column in _COLUMNS:
        value = getattr(simulation, column)
        if column in _JSON_COLUMNS and value is not None:
            value = json.dumps(value)
        elif isinstance(value, SimulationState):
            value = value.value
        values.append(value)
    return tuple(values)


def _from_row(row: tuple[Any, ...]) -> Simulation:
    fields = dict(zip(_COLUMNS, row, strict=True))
    for column in _JSON_COLUMNS:
        if fields[column] is not None:
            fields[column] = json.loads(fields[column])
    fields["state"] = SimulationState(fields["state"])
    return Simulation(**fields)
