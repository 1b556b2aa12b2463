"""`jupyter nrp` (serve): a Jupyter server with the extension, rooted in the current directory."""

import json
import signal
import subprocess
import urllib.error
import urllib.request

import pytest

from tests.cli.conftest import run_cli, start_cli
from tests.ports import free_port
from tests.waiting import eventually

TOKEN = "serve-test-token"


def get(url: str):
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def wait_for(url: str, process: subprocess.Popen, timeout: float = 60):
    def answer():
        try:
            return get(url)
        except (urllib.error.URLError, ConnectionError):
            assert process.poll() is None, process.stdout.read()
            return None

    return eventually(answer, timeout, "the server did not answer", every_s=0.2)


@pytest.mark.timeout(90)
@pytest.mark.parametrize("subcommand", [(), ("serve",)])
def test_serve_answers_nrp_version_for_the_current_directory(project_dir, cli_env, subcommand):
    port, broker_port = free_port(), free_port()
    while broker_port == port:  # two probes may hand out the same port; the broker would then answer HTTP
        broker_port = free_port()
    process = start_cli(*subcommand, "--port", str(port), f"--IdentityProvider.token={TOKEN}", "--allow-root",
                        f"--NrpJupyterApp.embedded_broker_port={broker_port}", cwd=project_dir, env=cli_env)
    try:
        version = wait_for(f"http://127.0.0.1:{port}/nrp/version", process)
        assert version["nrp_jupyter"]
        # Its root is the current directory: the experiments folder is there.
        listing = get(f"http://127.0.0.1:{port}/api/contents")
        assert "experiments" in [entry["name"] for entry in listing["content"]]
        # The NRP server alone: JupyterLab is installed here, and `jupyter lab` serves it, not this.
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(f"http://127.0.0.1:{port}/lab/api/settings")
        refused.value.close()  # the error holds the response's connection
        assert refused.value.code == 404
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=30)


@pytest.mark.timeout(60)
def test_help(cli_env, tmp_path):
    result = run_cli("--help", cwd=tmp_path, env=cli_env)
    assert result.returncode == 0
    assert "jupyter nrp run EXPERIMENT" in result.stdout
