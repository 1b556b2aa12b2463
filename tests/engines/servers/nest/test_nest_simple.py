"""nest_simple through NRPCoreSim standalone: a transceiver function reads and sets NEST status."""

import re
import subprocess

import pytest

from tests.conftest import BIN_DIR, EXPERIMENTS, copy_experiment_folder

pytestmark = pytest.mark.usefixtures("no_leftover_processes")

RECORDED = re.compile(r"(\d+) voltages recorded, last (-?\d+\.\d+) mV at (\d+\.\d+) ms")


def run_nrpcoresim(*args, cwd, env):
    return subprocess.run([str(BIN_DIR / "NRPCoreSim"), "-c", "simulation_config.json", *args], cwd=cwd,
                          env=env, capture_output=True, text=True, timeout=90)


@pytest.fixture
def nest_simple(tmp_path):
    """A copy of the experiment, to break in place."""
    directory = tmp_path / "nest_simple"
    copy_experiment_folder(EXPERIMENTS / "nest_simple", directory)
    return directory


@pytest.mark.timeout(120)
def test_the_tf_reads_the_voltmeter_and_drives_the_generators(core_env):
    result = run_nrpcoresim(cwd=EXPERIMENTS / "nest_simple", env=core_env)

    assert result.returncode == 0, result.stderr
    assert "simulation ended at t=1.000 s (timeout)" in result.stderr
    recorded = [(int(count), float(volts), float(at)) for count, volts, at in RECORDED.findall(result.stdout)]
    # 100 steps of 10 ms; the TF reads the voltmeter at each sync, and it records every ms from 1 ms.
    assert len(recorded) == 99
    assert [count for count, _, _ in recorded] == list(range(9, 999, 10))
    assert [at for _, _, at in recorded] == [float(t) for t in range(9, 999, 10)]
    # The rates the TF sets reach the neuron: left alone, with silent generators, it would rest at -70 mV.
    assert any(abs(volts + 70.0) > 0.05 for _, volts, _ in recorded)


@pytest.mark.timeout(120)
def test_without_the_tf_the_neuron_rests(nest_simple, core_env):
    # The same network with a TF that only reads: the generators stay at 0 Hz.
    tf = (nest_simple / "tf_1.py").read_text()
    (nest_simple / "tf_1.py").write_text(tf.replace("return [noise_datapack]", "return []"))
    result = run_nrpcoresim("-o", "SimulationTimeout=0.3", cwd=nest_simple, env=core_env)

    assert result.returncode == 0, result.stderr
    recorded = RECORDED.findall(result.stdout)
    assert len(recorded) == 29
    assert all(volts == "-70.000" for _, volts, _ in recorded)


@pytest.mark.timeout(120)
def test_a_tf_asking_for_an_unregistered_datapack_fails_naming_it(nest_simple, core_env):
    tf = (nest_simple / "tf_1.py").read_text()
    (nest_simple / "tf_1.py").write_text(tf.replace("DataPackIdentifier('voltage', 'nest')",
                                                    "DataPackIdentifier('volts', 'nest')"))
    result = run_nrpcoresim(cwd=nest_simple, env=core_env)

    assert result.returncode == 1
    assert "[nest] Attempting to get data from an unregistered DataPack (volts)" in result.stderr


@pytest.mark.timeout(120)
def test_a_brain_error_fails_the_launch_naming_file_and_line(nest_simple, core_env):
    brain = (nest_simple / "nest_simple.py").read_text()
    (nest_simple / "nest_simple.py").write_text(brain + 'nest.Create("no_such_model")\n')
    line = brain.count("\n") + 1
    result = run_nrpcoresim(cwd=nest_simple, env=core_env)

    assert result.returncode == 1
    assert f'Engine "nest": initialize failed in nest_simple.py, line {line}, in <module>' in result.stderr
    assert "no_such_model is not a known model name" in result.stderr


@pytest.mark.timeout(120)
def test_a_tf_assigning_the_status_list_at_once_drives_the_generators_too(nest_simple, core_env):
    # The experiment's TF appends to a new datapack, as nrp-core's does; a list assigned whole is the
    # same data.
    tf = (nest_simple / "tf_1.py").read_text()
    appended = ('    noise_datapack.data.append({"rate": sin_x[n]})\n'
                '    noise_datapack.data.append({"rate": cos_x[n]})\n')
    assert appended in tf
    (nest_simple / "tf_1.py").write_text(tf.replace(
        appended, '    noise_datapack.data = [{"rate": sin_x[n]}, {"rate": cos_x[n]}]\n'))
    result = run_nrpcoresim("-o", "SimulationTimeout=0.3", cwd=nest_simple, env=core_env)

    assert result.returncode == 0, result.stderr
    recorded = RECORDED.findall(result.stdout)
    assert len(recorded) == 29
    assert any(volts != "-70.000" for _, volts, _ in recorded)


@pytest.mark.timeout(120)
def test_a_tf_appending_to_a_datapack_made_an_object_fails_naming_datapack_and_line(nest_simple, core_env):
    tf = (nest_simple / "tf_1.py").read_text()
    first_append = '    noise_datapack.data.append({"rate": sin_x[n]})\n'
    (nest_simple / "tf_1.py").write_text(tf.replace(first_append, '    noise_datapack.data["rate"] = 1.0\n'))
    line = tf.splitlines().index('    noise_datapack.data.append({"rate": cos_x[n]})') + 1
    result = run_nrpcoresim("-o", "SimulationTimeout=0.1", cwd=nest_simple, env=core_env)

    assert result.returncode == 1
    assert f"tf_1.py, line {line}" in result.stderr
    assert ("'append' may be called on array or null types only, called on 'object' "
            "(datapack 'noise' of engine 'nest')") in result.stderr
