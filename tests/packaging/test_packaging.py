"""Packaging: the wheel carries the prebuilt lab extension and the server extension's config as
shared-data, with every package-data file, dependency and console script; and the environment the
tests run in (.venv, installed editable by scripts/bootstrap) has both extensions enabled."""

import os
import re
import subprocess
import sys
import tomllib
import zipfile

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import REPO

pytestmark = pytest.mark.timeout(300)

LAB_EXTENSION = "nrp-jupyter-labextension"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel `pip wheel . --no-deps` builds (its hook skips the npm build while
    labextension/dist is newer than labextension/src)."""
    target = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(target)],
                   check=True, capture_output=True, timeout=280)
    (built,) = target.glob("nrp_jupyter-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


def data_dir(names: list[str]) -> str:
    (prefix,) = {name.split("/")[0] for name in names if ".data/" in name}
    return f"{prefix}/data"


def test_the_wheel_carries_the_built_lab_extension_and_the_server_config(wheel):
    names = wheel.namelist()
    data = data_dir(names)
    extension = f"{data}/share/jupyter/labextensions/{LAB_EXTENSION}"
    assert f"{extension}/package.json" in names
    assert f"{extension}/install.json" in names
    assert any(name.startswith(f"{extension}/static/remoteEntry.") for name in names), names
    assert b'"nrp_jupyter": true' in wheel.read(f"{data}/etc/jupyter/jupyter_server_config.d/nrp_jupyter.json")
    # Nothing of the build's inputs: no npm packages, no TypeScript.
    assert not any("node_modules" in name or name.endswith(".ts") for name in names)


def same(requirement: Requirement) -> tuple:
    """What makes two requirements the same, whichever way the name is spelled."""
    return canonicalize_name(requirement.name), requirement.specifier, str(requirement.marker)


def test_the_wheel_keeps_every_package_file_dependency_and_script(wheel):
    names = set(wheel.namelist())
    for required in ("nrp_jupyter/server/openapi.json", "nrp_jupyter/notebook/panel/panel.js",
                     "nrp_jupyter/notebook/panel/panel.css", "engines/nrpcoresim/config/schemas/simulation.json",
                     "nrp_protobuf/nrp_server_pb2.pyi", "kernel_ext/protocol.py", "nrp_core/__init__.py"):
        assert required in names, required
    (metadata,) = [name for name in names if name.endswith(".dist-info/METADATA")]
    declared = {Requirement(line.split(":", 1)[1].strip())
                for line in wheel.read(metadata).decode().splitlines() if line.startswith("Requires-Dist:")}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = {Requirement(text) for text in project["dependencies"]}
    for extra, texts in project["optional-dependencies"].items():
        wanted |= {Requirement(f'{text}; extra == "{extra}"') for text in texts}
    assert {same(requirement) for requirement in declared} == {same(requirement) for requirement in wanted}
    assert {"grpcio", "jupyter-server", "anywidget", "amqtt", "mcap"} <= {
        canonicalize_name(requirement.name) for requirement in declared if requirement.marker is None}
    (entry_points,) = [name for name in names if name.endswith(".dist-info/entry_points.txt")]
    scripts = wheel.read(entry_points).decode()
    for script in ("NRPCoreSim", "nrp-python-json-engine", "nrp-python-grpc-engine", "nrp-py-sim-engine",
                   "nrp-nest-json-engine", "nrp-datatransfer-engine", "jupyter-nrp"):
        assert f"{script} = " in scripts, script


def jupyter_lists(tmp_path, *commands: tuple[str, ...]) -> list[str]:
    """The outputs of `jupyter <command>` of this environment, run side by side, without the user's
    own Jupyter config and data and without colours."""
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_DATA_DIR": str(tmp_path / "data")}
    env.pop("JUPYTER_PATH", None)
    env.pop("JUPYTER_CONFIG_PATH", None)
    running = [subprocess.Popen([sys.executable, "-m", "jupyter", *command], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for command in commands]
    outputs = []
    for process in running:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
        outputs.append(re.sub(r"\x1b\[[0-9;]*m", "", output))
    return outputs


def test_this_environment_has_the_lab_extension_and_the_server_extension_enabled(tmp_path):
    labs, servers = jupyter_lists(tmp_path, ("labextension", "list"), ("server", "extension", "list"))
    listed = [line.split() for line in labs.splitlines()]
    ours = [words for words in listed if words and words[0] == LAB_EXTENSION]
    assert ours, labs
    assert "enabled" in ours[0] and "OK" in ours[0], ours
    assert any(line.split()[:2] == ["nrp_jupyter", "enabled"] for line in servers.splitlines()), servers
