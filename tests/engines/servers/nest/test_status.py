"""NEST status <-> JSON datapack data, the datapack registry and imports, without running NEST."""

import json
import math
import subprocess
import sys

import numpy
import pytest

from engines.servers.nest.datapacks import BrainDataPackError, BrainDataPacks, collecting, register_datapack
from engines.servers.nest.status import StatusError, read_status, to_json, write_status
from nrp_core.engines.nest_json import CreateDataPack, RegisterDataPack
from tests.engines.servers.conftest import engine_env


class Collection:
    """Stands in for a NodeCollection: NEST's get/set shapes, without NEST."""

    def __init__(self, *statuses):
        self.statuses = [dict(status) for status in statuses]
        self.sets = []

    def __len__(self):
        return len(self.statuses)

    def get(self):
        if len(self.statuses) == 1:
            return dict(self.statuses[0])
        return {key: tuple(status[key] for status in self.statuses) for key in self.statuses[0]}

    def set(self, params):
        self.sets.append(params)


def test_to_json_turns_nest_values_into_plain_json():
    status = {"V_m": numpy.float64(-70.0), "V_min": -math.inf, "g": math.nan, "n": numpy.int64(3),
              "recordables": ("V_m", "I_syn"), "events": {"times": numpy.array([1.0, 2.0]),
                                                           "senders": numpy.array([4, 4]),
                                                           "odd": numpy.array([1.0, math.inf])},
              "grid": numpy.zeros((2, 2)), "flag": numpy.bool_(True), "other": object}
    converted = to_json(status)
    assert converted["V_m"] == -70.0 and converted["V_min"] is None and converted["g"] is None
    assert converted["n"] == 3 and type(converted["n"]) is int
    assert converted["recordables"] == ["V_m", "I_syn"]
    assert converted["events"] == {"times": [1.0, 2.0], "senders": [4, 4], "odd": [1.0, None]}
    assert converted["grid"] == [[0.0, 0.0], [0.0, 0.0]] and converted["flag"] is True
    assert converted["other"] == "<class 'object'>"
    json.dumps(converted, allow_nan=False)


def test_read_status_is_one_dict_per_element():
    assert read_status(Collection({"V_m": 1.0})) == [{"V_m": 1.0}]
    assert read_status(Collection({"V_m": 1.0, "id": 1}, {"V_m": 2.0, "id": 2})) == [
        {"V_m": 1.0, "id": 1}, {"V_m": 2.0, "id": 2}]
    assert read_status(Collection()) == []


def test_write_status_takes_a_dict_or_one_dict_per_element():
    nodes = Collection({"rate": 0.0}, {"rate": 0.0})
    write_status(nodes, {"rate": 1.0})
    write_status(nodes, [{"rate": 1.0}])
    write_status(nodes, [{"rate": 1.0}, {"rate": 2.0}])
    write_status(nodes, None)
    assert nodes.sets == [{"rate": 1.0}, [{"rate": 1.0}], [{"rate": 1.0}, {"rate": 2.0}]]
    with pytest.raises(StatusError, match=r"expected 1 or 2 status dicts \(one per element\), got 3"):
        write_status(nodes, [{}, {}, {}])
    with pytest.raises(StatusError, match="expected a status dict or a list of status dicts, got int 5"):
        write_status(nodes, 5)
    with pytest.raises(StatusError, match="got list"):
        write_status(nodes, [{"rate": 1.0}, 2])


def test_registry_refuses_bad_names_duplicates_and_non_nest_objects():
    registry = BrainDataPacks()
    registry.register("a", Collection({}))
    with pytest.raises(BrainDataPackError, match='datapack "a" is already registered'):
        registry.register("a", Collection({}))
    with pytest.raises(BrainDataPackError, match="non-empty string, got ''"):
        registry.register("", Collection({}))
    with pytest.raises(BrainDataPackError,
                       match='"b" must name a NEST NodeCollection or SynapseCollection, got dict'):
        registry.register("b", {"V_m": 1.0})
    assert registry.names() == ["a"] and "a" in registry and len(registry) == 1


def test_register_datapack_fills_the_registry_of_the_running_brain_only():
    registry = BrainDataPacks()
    nodes = Collection({})
    with collecting(registry):
        RegisterDataPack("x", nodes)
        with pytest.raises(RuntimeError, match="already being run"):
            with collecting(BrainDataPacks()):
                pass
    assert registry["x"] is nodes
    # Outside a brain run (e.g. a brain file run by hand) the functions say where they work.
    for call in (lambda: register_datapack("y", nodes), lambda: CreateDataPack("y", "iaf_psc_alpha")):
        with pytest.raises(RuntimeError, match="only in a brain script run by the nest_json engine"):
            call()


@pytest.mark.timeout(30)
def test_importing_the_nest_engine_starts_nothing_and_loads_no_nest():
    check = (
        "import sys, threading, signal\n"
        "before = threading.active_count()\n"
        "handlers = [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)]\n"
        "import engines.servers.nest_json, nrp_core.engines.nest_json, engines.servers.nest.brain_script\n"
        "assert threading.active_count() == before, threading.enumerate()\n"
        "assert [signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)] == handlers\n"
        "assert 'nest' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", check], env=engine_env(), capture_output=True, timeout=20)
    assert result.returncode == 0, result.stderr.decode()
