"""The nest_json engine server, driven over raw HTTP as nrp-core's client drives it, with NEST inside."""

import signal

import pytest

from tests.engines.servers.nest import brains
from tests.engines.servers.nest.conftest import STEP_NS, nest_config, write_brain
from tests.engines.servers.conftest import NLOHMANN_TYPE


def request(*names, engine="nest"):
    return {name: {"engine_name": engine, "type": NLOHMANN_TYPE} for name in names}


def setting(engine="nest", **data):
    return {name: {"engine_name": engine, "type": NLOHMANN_TYPE, "data": value}
            for name, value in data.items()}


def status(client, name):
    reply = client.ok("/get_datapacks", request(name))[name]
    assert reply["engine_name"] == "nest" and reply["type"] == NLOHMANN_TYPE
    return reply["data"]


@pytest.fixture
def simple_engine(tmp_path, start_nest_engine, json_client):
    write_brain(tmp_path, brains.SIMPLE)
    engine = start_nest_engine()
    client = json_client(engine.address)
    assert client.ok("/initialize", nest_config()) == {"Capabilities": ["step"]}
    return engine, client


@pytest.mark.timeout(60)
def test_steps_run_nest_and_datapacks_carry_its_status(tmp_path, simple_engine):
    engine, client = simple_engine

    # nest.GetStatus's shape: one status dict per node.
    noise = status(client, "noise")
    assert [node["model"] for node in noise] == ["poisson_generator", "poisson_generator"]
    voltage = status(client, "voltage")
    assert len(voltage) == 1 and voltage[0]["model"] == "voltmeter"
    assert voltage[0]["events"]["times"] == []

    assert client.ok("/run_loop", {"time_step": STEP_NS}) == {"time": STEP_NS}
    assert client.ok("/run_loop", {"time_step": STEP_NS}) == {"time": 2 * STEP_NS}
    events = status(client, "voltage")[0]["events"]
    # The voltmeter samples every ms from 1 ms: NEST really ran 20 ms.
    assert events["times"] == [float(t) for t in range(1, 20)]
    assert len(events["V_m"]) == 19

    assert client.ok("/shutdown", None) is None
    assert engine.wait_exit() == 0
    assert "Traceback" not in engine.stderr()


@pytest.mark.timeout(60)
def test_set_datapacks_sets_nest_status_and_changes_the_network(simple_engine):
    _, client = simple_engine

    # One status dict per node, or one dict for all of them.
    client.ok("/set_datapacks", setting(noise=[{"rate": 100.0}, {"rate": 250.0}]))
    assert [node["rate"] for node in status(client, "noise")] == [100.0, 250.0]
    client.ok("/set_datapacks", setting(noise={"rate": 40.0}))
    assert [node["rate"] for node in status(client, "noise")] == [40.0, 40.0]

    # Without current the driven neuron is silent; with 500 pA it fires.
    client.ok("/run_loop", {"time_step": STEP_NS})
    assert status(client, "spikes")[0]["n_events"] == 0
    client.ok("/set_datapacks", setting(drive={"amplitude": 500.0}))
    for _ in range(5):
        client.ok("/run_loop", {"time_step": STEP_NS})
    assert status(client, "spikes")[0]["n_events"] > 0
    # A datapack entry without data (an empty datapack) changes nothing.
    client.ok("/set_datapacks", {"drive": {"engine_name": "nest", "type": NLOHMANN_TYPE}})
    assert status(client, "drive")[0]["amplitude"] == 500.0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("data, expected", [
    ({"rat": 5.0}, "rat"),
    ([{"rate": 1.0}, {"rate": 2.0}, {"rate": 3.0}], "expected 1 or 2 status dicts (one per element), got 3"),
    ("fast", "expected a status dict or a list of status dicts, got str"),
    ({"rate": "fast"}, "rate"),
], ids=["unknown-key", "too-many-dicts", "not-a-dict", "wrong-type"])
def test_a_status_nest_refuses_names_the_datapack(simple_engine, data, expected):
    _, client = simple_engine
    code, message = client.post("/set_datapacks", setting(noise=data))
    assert code == 500
    assert 'Engine "nest"' in message and 'datapack "noise"' in message and expected in message
    # The engine keeps serving, with the status unchanged.
    assert [node["rate"] for node in status(client, "noise")] == [0.0, 0.0]
    assert client.ok("/run_loop", {"time_step": STEP_NS}) == {"time": STEP_NS}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("route, body, expected", [
    ("/get_datapacks", {"nope": {"engine_name": "nest", "type": NLOHMANN_TYPE}},
     "[nest] Attempting to get data from an unregistered DataPack (nope)"),
    ("/set_datapacks", setting(nope={"rate": 1.0}),
     "[nest] Attempting to set data on an unregistered DataPack (nope)"),
    ("/get_datapacks", request("noise", engine="nest_2"),
     'datapack "noise" is addressed to engine "nest_2", this is engine "nest"'),
], ids=["get-unregistered", "set-unregistered", "wrong-engine"])
def test_unknown_datapacks_are_refused_by_name(simple_engine, route, body, expected):
    _, client = simple_engine
    code, message = client.post(route, body)
    assert code == 500 and expected in message and "brain.py" in message


@pytest.mark.timeout(60)
def test_steps_follow_nest_resolution_and_report_nest_clock(simple_engine):
    _, client = simple_engine
    # 10.04 ms is 100.4 steps of 0.1 ms: NEST runs 100 of them and the engine says so.
    assert client.ok("/run_loop", {"time_step": 10_040_000}) == {"time": 10_000_000}
    assert client.ok("/run_loop", {"time_step": 10_060_000}) == {"time": 20_100_000}
    # Under half a resolution step NEST does not move.
    assert client.ok("/run_loop", {"time_step": 10_000}) == {"time": 20_100_000}


@pytest.mark.timeout(60)
def test_reset_restarts_nest_and_reruns_the_brain(tmp_path, simple_engine):
    _, client = simple_engine
    client.ok("/set_datapacks", setting(noise={"rate": 99.0}))
    client.ok("/run_loop", {"time_step": STEP_NS})
    client.ok("/run_loop", {"time_step": STEP_NS})

    assert client.ok("/reset", "reset") is None
    assert (tmp_path / "brain_runs.txt").read_text() == "run\nrun\n"
    assert [node["rate"] for node in status(client, "noise")] == [0.0, 0.0]
    assert status(client, "voltage")[0]["events"]["times"] == []
    assert client.ok("/run_loop", {"time_step": STEP_NS}) == {"time": STEP_NS}


@pytest.mark.timeout(90)
def test_nest_rng_seed_decides_the_random_numbers(tmp_path, start_nest_engine, json_client):
    write_brain(tmp_path, brains.RANDOM_SPIKES)

    def spike_times(seed):
        engine = start_nest_engine()
        client = json_client(engine.address)
        client.ok("/initialize", nest_config(NestRNGSeed=seed))
        client.ok("/run_loop", {"time_step": 100_000_000})
        times = status(client, "spikes")[0]["events"]["times"]
        # After a reset the same seed gives the same numbers again.
        client.ok("/reset", "reset")
        client.ok("/run_loop", {"time_step": 100_000_000})
        assert status(client, "spikes")[0]["events"]["times"] == times
        client.ok("/shutdown", None)
        assert engine.wait_exit() == 0
        assert len(times) > 5
        return times

    first = spike_times(7)
    assert spike_times(7) == first
    assert spike_times(8) != first


@pytest.mark.timeout(60)
def test_brain_devices_register_generators_and_integrators(tmp_path, start_nest_engine, json_client):
    write_brain(tmp_path, brains.DEVICES)
    client = json_client(start_nest_engine().address)
    client.ok("/initialize", nest_config())
    assert [node["model"] for node in status(client, "actors")] == ["iaf_psc_alpha", "iaf_psc_alpha"]
    assert status(client, "current")[0]["model"] == "dc_generator"
    assert [node["model"] for node in status(client, "exp_actors")] == ["iaf_psc_exp"]

    # Current only into the second neuron: it fires, and only the second integrator charges.
    client.ok("/set_datapacks", setting(current={"amplitude": 600.0}, input={"rate": 10.0}))
    assert status(client, "input")[0]["rate"] == 10.0
    for _ in range(10):
        client.ok("/run_loop", {"time_step": STEP_NS})
    actors = status(client, "actors")
    resting = 2.2250738585072014e-308  # the integrators' V_min, which is also where they rest
    assert actors[0]["V_m"] == pytest.approx(resting, abs=1e-6)
    assert actors[1]["V_m"] > 0.01


@pytest.mark.timeout(60)
def test_connections_as_datapacks(tmp_path, start_nest_engine, json_client):
    write_brain(tmp_path, brains.CONNECTIONS)
    client = json_client(start_nest_engine().address)
    client.ok("/initialize", nest_config())
    assert [synapse["weight"] for synapse in status(client, "synapses")] == [2.0, 2.0]
    client.ok("/set_datapacks", setting(synapses=[{"weight": 3.0}, {"weight": -1.0}]))
    assert [synapse["weight"] for synapse in status(client, "synapses")] == [3.0, -1.0]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("source, expected", [
    (brains.SYNTAX_ERROR, ["brain.py, line 3", "SyntaxError"]),
    (brains.RAISES, ["brain.py, line 5, in <module>", "RuntimeError: the brain is broken"]),
    (brains.NEST_ERROR, ["brain.py, line 4, in <module>", "no_such_neuron_model"]),
    (brains.DUPLICATE_NAME, ["brain.py, line 6, in <module>", 'datapack "twice" is already registered']),
    (brains.NOT_A_NEST_OBJECT, ["brain.py, line 5, in <module>",
                                'datapack "numbers" must name a NEST NodeCollection or SynapseCollection']),
], ids=["syntax-error", "exception", "nest-error", "duplicate-name", "not-a-nest-object"])
def test_a_bad_brain_fails_initialize_naming_file_and_line(tmp_path, start_nest_engine, json_client,
                                                           source, expected):
    write_brain(tmp_path, source)
    engine = start_nest_engine()
    client = json_client(engine.address)
    code, message = client.post("/initialize", nest_config())
    assert code == 500
    assert 'Engine "nest": initialize failed' in message
    for part in expected:
        assert part in message
    # Not initialized: later requests say so; the engine still shuts down cleanly.
    code, message = client.post("/run_loop", {"time_step": STEP_NS})
    assert code == 500 and "not initialized" in message
    client.ok("/shutdown", None)
    assert engine.wait_exit() == 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("config, expected", [
    (nest_config(brain="missing.py"), 'NestInitFileName "missing.py" cannot be read'),
    ({**nest_config(), "NestInitFileName": ""}, "no NestInitFileName"),
    (nest_config(NestRNGSeed=-3), "NestRNGSeed must be an integer in [0, 2^32), got -3"),
    (nest_config(TimeRatio=[1, 1000]), "TimeRatio must be [1, 1000000000]"),
], ids=["missing-file", "no-file", "negative-seed", "time-ratio"])
def test_initialize_rejects_bad_configs(tmp_path, start_nest_engine, json_client, config, expected):
    write_brain(tmp_path, brains.SIMPLE)
    client = json_client(start_nest_engine().address)
    code, message = client.post("/initialize", config)
    assert code == 500 and 'Engine "nest"' in message and expected in message


@pytest.mark.timeout(60)
def test_the_nest_banner_stays_out_of_the_output(tmp_path, start_nest_engine, json_client):
    write_brain(tmp_path, brains.SIMPLE)
    stdout_path = tmp_path / "engine.stdout"
    engine = start_nest_engine(stdout_path=stdout_path)
    client = json_client(engine.address)
    client.ok("/initialize", nest_config())
    client.ok("/run_loop", {"time_step": STEP_NS})
    client.ok("/shutdown", None)
    assert engine.wait_exit() == 0
    output = stdout_path.read_text() + engine.stderr()
    assert "N E S T" not in output and "Simulation finished" not in output


@pytest.mark.timeout(60)
def test_sigterm_after_initialize_exits_cleanly(simple_engine):
    engine, client = simple_engine
    client.ok("/run_loop", {"time_step": STEP_NS})
    engine.proc.send_signal(signal.SIGTERM)
    assert engine.wait_exit() == 0
    assert "Traceback" not in engine.stderr()


@pytest.mark.timeout(60)
def test_the_one_round_trip_step_sets_runs_and_gets(simple_engine):
    _, client = simple_engine
    reply = client.ok("/step", {"set": setting(drive={"amplitude": 500.0}), "time_step": 5 * STEP_NS,
                                "get": request("drive", "spikes")})
    assert reply["time"] == 5 * STEP_NS
    assert reply["datapacks"]["drive"]["data"][0]["amplitude"] == 500.0
    assert reply["datapacks"]["spikes"]["data"][0]["n_events"] > 0
