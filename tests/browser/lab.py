"""JupyterLab in a subprocess, driven by the system's headless Chromium through playwright.

Playwright never downloads a browser here: it launches Debian's `/usr/bin/chromium`
(scripts/bootstrap installs it).
"""

from __future__ import annotations

import json
import pathlib
import time

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.live_server import LiveServer

CHROMIUM = pathlib.Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# Lab plugins that would pop up over the page or reach for the network.
QUIET_LAB_PLUGINS = ["@jupyterlab/apputils-extension:announcements"]


class JupyterLab(LiveServer):
    """A `jupyter lab` process (the nrp_jupyter extension is enabled in the environment)."""

    module = "jupyterlab"
    arguments = ()

    def start(self, timeout: float = 60.0) -> JupyterLab:
        labconfig = self.tmp_path / "config" / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        (labconfig / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {name: True for name in QUIET_LAB_PLUGINS}}))
        return super().start(timeout)

    def command(self) -> list[str]:
        return [*super().command(), "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]

    def notebook_url(self, path: str) -> str:
        return f"{self.url}lab/tree/{path}?token={self.token}"


def launch_chromium(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def run_all_cells(page, timeout_ms: float = 60_000) -> None:
    """Waits for the notebook's kernel, then runs every cell through Lab's Run menu."""
    page.wait_for_selector(".jp-Notebook", timeout=timeout_ms)
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout_ms)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()


def select_cell_containing(page, text: str, timeout_s: float = 60.0):
    """Clicks (selects) the first cell whose source contains `text`; returns its locator. A dialog of
    Lab's in the way (which kernel to use, a kernel that restarted) is answered first, as a user would."""
    cell = page.locator(".jp-Notebook .jp-Cell", has_text=text).first
    deadline = time.monotonic() + timeout_s
    while True:
        accept_dialog(page)
        try:
            cell.locator(".jp-InputPrompt").click(timeout=5_000)
            return cell
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise


def accept_dialog(page) -> None:
    """Clicks the accepting button of a dialog of Lab's, if one is open."""
    accept = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    if accept.count() and accept.first.is_visible():
        accept.first.click()


def run_menu(page, item: str) -> None:
    """Runs `item` of Lab's Run menu (e.g. "Run All Above Selected Cell")."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=item, exact=True).click()


def answer_kernel_dialog(page) -> None:
    """Lab sometimes asks which kernel to use even for a notebook that names one."""
    select = page.locator(".jp-Dialog").get_by_role("button", name="Select", exact=True)
    if select.is_visible():
        select.click()


def error_outputs(page) -> list[str]:
    """The texts of the notebook's error outputs (tracebacks)."""
    return page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").all_inner_texts()
