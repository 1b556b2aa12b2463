"""Real nest_json engine processes (`python -m engines.servers.nest_json`) on real sockets, found
through a real registration server, as nrp-core's client finds them. Brain files are written into
the test's tmp_path, the engine's working directory."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.engines.servers.conftest import Engine, engine_env

TIME_RATIO = [1, 1_000_000_000]
STEP_NS = 10_000_000  # 10 ms


def nest_config(name: str = "nest", brain: str = "brain.py", **extra) -> dict:
    return {"EngineName": name, "EngineType": "nest_json", "NestInitFileName": brain, "NestRNGSeed": 0,
            "EngineTimestep": 0.01, "TimeRatio": TIME_RATIO, **extra}


def write_brain(directory: Path, source: str, name: str = "brain.py") -> Path:
    path = directory / name
    path.write_text(source)
    return path


@pytest.fixture
def start_nest_engine(tmp_path, registrar):
    procs: list[subprocess.Popen] = []

    def start(name: str = "nest", stdout_path: Path | None = None) -> Engine:
        stderr_path = tmp_path / f"{name}-{len(procs)}.stderr"
        stdout_path = stdout_path or tmp_path / f"{name}-{len(procs)}.stdout"
        with open(stderr_path, "wb") as stderr, open(stdout_path, "wb") as stdout:
            proc = subprocess.Popen([sys.executable, "-m", "engines.servers.nest_json", f"--engine={name}",
                                     "--serverurl=127.0.0.1:0", f"--regservurl={registrar.url}"],
                                    cwd=tmp_path, env=engine_env(), stdout=stdout, stderr=stderr)
        procs.append(proc)
        registration = registrar.wait(proc, stderr_path)
        assert registration["engine_name"] == name
        return Engine(proc, name, registration["address"], stderr_path)

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
