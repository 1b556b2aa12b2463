"""nrp-user-scripts' acceptance suite (tests/acceptance: test_cli_experiment.py, test_ui_experiment.py),
run from its checkout against this stack through the environment variables it reads, one row per test."""

from __future__ import annotations

import os
import subprocess
from xml.etree import ElementTree

from layout import PROJECT, Layout
from results import PassTable

HERE = PROJECT / "scripts" / "nrp-stack"
SUITE_FILES = ("test_cli_experiment.py", "test_ui_experiment.py")
SUITE_TIMEOUT_S = 1200


def run(layout: Layout, table: PassTable) -> None:
    mode = (layout.run / "mode").read_text().strip()
    suite = layout.user_scripts_src / "tests" / "acceptance"
    if not all((suite / name).exists() for name in SUITE_FILES):
        table.add("acceptance", "suite present", False, f"{suite} lacks {', '.join(SUITE_FILES)}")
        return
    report = layout.run / f"acceptance-{mode}.xml"
    report.unlink(missing_ok=True)
    env = {
        **os.environ,
        "NRP_BASE_URL": layout.base_url,
        "NRP_FS_USER": layout.fs_user,
        "NRP_FS_PASSWORD": layout.fs_password,
        "NRP_MQTT_HOST": "127.0.0.1",
        "NRP_MQTT_PORT": str(layout.ports.mqtt),
        "NRP_TEMPLATE": "tf_exchange/simulation_config.json",
        "START_TIMEOUT": "120",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(HERE), os.environ.get("PYTHONPATH", "")])),
        "NRP_STACK_SCREENSHOTS": str(layout.screenshots),
        "NRP_STACK_RUN": mode,
    }
    argv = [str(layout.python), "-m", "pytest", "-p", "playwright_page", "-p", "no:cacheprovider",
            "-p", "no:xdist", "-p", "no:jupyter", "--timeout=300", "-v", f"--junitxml={report}", *SUITE_FILES]
    with (layout.run / f"acceptance-{mode}.log").open("w") as log:
        subprocess.run(argv, cwd=suite, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=SUITE_TIMEOUT_S,
                       check=False)  # failures are read from the report
    if not report.exists():
        table.add("acceptance", "suite ran", False, f"no report; see {layout.run / f'acceptance-{mode}.log'}")
        return
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        problem = case.find("failure") if case.find("failure") is not None else case.find("error")
        skipped = case.find("skipped")
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        if problem is not None:
            table.add("acceptance", name, False, (problem.get("message") or "").splitlines()[0][:200])
        elif skipped is not None:
            table.add("acceptance", name, False, f"skipped: {skipped.get('message', '')[:200]}")
        else:
            table.add("acceptance", name, True)
