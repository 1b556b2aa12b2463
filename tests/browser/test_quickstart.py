"""notebooks/quickstart.ipynb in JupyterLab, in Debian's headless Chromium: the magics launch and
start a simulation, the control panel shows it live, and its Pause and Resume buttons change the
simulation's state (checked through REST). A screenshot of the panel is kept in test-artifacts/."""

import re
import shutil
import time

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.lab import (CHROMIUM, JupyterLab, answer_kernel_dialog, launch_chromium, run_menu,
                               select_cell_containing)
from tests.conftest import EXPERIMENTS, REPO
from tests.live_server import experiments_root

pytestmark = pytest.mark.timeout(300)

ARTIFACTS = REPO / "test-artifacts"
# The markdown cell after `%nrp start`: the quickstart runs up to it, then the test clicks.
AFTER_START = "Watch the panel"
# How long a run request may show nothing before it is made again.
RETRY_AFTER_S = 10.0


@pytest.fixture
def lab(tmp_path, no_leftover_processes):
    assert CHROMIUM.exists(), "Debian's chromium is missing (scripts/bootstrap installs it)"
    root = experiments_root(tmp_path / "root", EXPERIMENTS, names=["tf_exchange_datatransfer"])
    (root / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "quickstart.ipynb", root / "notebooks")
    server = JupyterLab(root, tmp_path).start()
    yield server
    server.stop_all_simulations()
    server.stop()


def only_simulation(lab) -> int:
    code, records = lab.call("GET", "simulation")
    assert code == 200 and len(records) == 1, records
    return records[0]["simulationID"]


def rest_state(lab, simulation_id: int) -> str:
    return lab.call("GET", "simulation", str(simulation_id), "state")[1]["state"]


def run_until_the_panel_runs(page, timeout_s: float = 120.0) -> None:
    """Runs the cells above AFTER_START until the panel shows a started simulation. What a user
    would do when Lab drops the run request (no cell ran: request it again) or leaves the panel at
    "Loading widget..." (its widget manager took the kernel on late: run the panel's cell again) is
    done here too; neither launches a second simulation."""
    deadline = time.monotonic() + timeout_s
    page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=timeout_s * 1000)
    select_cell_containing(page, AFTER_START)
    run_menu(page, "Run All Above Selected Cell")
    next_retry = time.monotonic() + RETRY_AFTER_S
    while not page.locator(".nrp-panel .nrp-badge", has_text="started").is_visible():
        assert time.monotonic() < deadline, "the quickstart's panel never showed a started simulation"
        answer_kernel_dialog(page)
        if time.monotonic() > next_retry:
            next_retry = time.monotonic() + RETRY_AFTER_S
            if not page.locator(".jp-Cell .jp-InputPrompt", has_text=re.compile(r"\[[0-9*]+\]")).count():
                select_cell_containing(page, AFTER_START)
                run_menu(page, "Run All Above Selected Cell")
            elif page.get_by_text("Loading widget...").is_visible():
                select_cell_containing(page, "%nrp panel")
                run_menu(page, "Run Selected Cell")
        page.wait_for_timeout(250)


def test_the_quickstart_runs_in_jupyterlab_and_the_panel_steers_the_simulation(lab):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        try:
            page.goto(lab.notebook_url("notebooks/quickstart.ipynb"))
            run_until_the_panel_runs(page)
            simulation_id = only_simulation(lab)
            assert rest_state(lab, simulation_id) == "started"
            panel = page.locator(".nrp-panel")
            badge = panel.locator(".nrp-badge")

            panel.get_by_role("button", name="Pause").click()
            expect(badge).to_have_text("paused", timeout=30_000)
            assert rest_state(lab, simulation_id) == "paused"

            panel.get_by_role("button", name="Resume").click()
            expect(badge).to_have_text("started", timeout=30_000)
            assert rest_state(lab, simulation_id) == "started"

            # State, times and the plot of the streamed datapacks.
            expect(panel.locator(".nrp-times")).not_to_contain_text("Simulation time 00:00:00.0 ", timeout=30_000)
            expect(panel.locator(".nrp-plot polyline").first).to_be_visible(timeout=30_000)
            expect(panel.locator(".nrp-plot", has_text="engine_time").first).to_be_visible()
            panel.screenshot(path=str(ARTIFACTS / "quickstart-panel.png"))

            # The rest of the quickstart: pause, resume and stop with magics.
            select_cell_containing(page, "%nrp pause")
            run_menu(page, "Run Selected Cell and All Below")
            expect(badge).to_have_text("stopped", timeout=60_000)
            assert rest_state(lab, simulation_id) == "stopped"
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=60_000)
            errors = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            assert errors.count() == 0, errors.all_inner_texts()
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "quickstart-failure.png"))
            raise
        finally:
            browser.close()
