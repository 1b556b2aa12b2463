"""The lab extension's side panel in JupyterLab, in Debian's headless Chromium: it launches a
long-running tf_exchange from the storage's list, starts, pauses, resumes and stops it, shows its
logs and opens its control panel in a console, and "Stop all" stops two simulations at once. Each
state is checked through REST; screenshots are kept in test-artifacts/."""

import re
import shutil

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.browser.lab import CHROMIUM, JupyterLab, launch_chromium
from tests.conftest import EXPERIMENTS, REPO
from tests.live_server import experiments_root
from tests.notebook.client.experiments import RUNS_UNTIL_STOPPED, add_runs_until_stopped

pytestmark = pytest.mark.timeout(300)

ARTIFACTS = REPO / "test-artifacts"
# Launches answer once the simulation is initialised; a loaded machine may take a while.
LAUNCH_MS = 90_000
STATE_MS = 30_000


@pytest.fixture
def lab(tmp_path, no_leftover_processes):
    assert CHROMIUM.exists(), "Debian's chromium is missing (scripts/bootstrap installs it)"
    root = experiments_root(tmp_path / "root", EXPERIMENTS, names=["tf_exchange"])
    add_runs_until_stopped(root)
    server = JupyterLab(root, tmp_path).start()
    yield server
    server.stop_all_simulations()
    server.stop()


def rest_states(lab) -> dict[int, str]:
    code, records = lab.call("GET", "simulation")
    assert code == 200, records
    return {record["simulationID"]: record["state"] for record in records}


def launch_from_the_panel(panel, lab, known: set[int]) -> int:
    """Clicks Launch for RUNS_UNTIL_STOPPED; returns the new simulation's id, once its row shows it paused."""
    panel.locator(".nrp-sidebar-launch-button").click()
    expect(panel.locator(".nrp-sidebar-message")).to_contain_text("launched: paused", timeout=LAUNCH_MS)
    (new,) = set(rest_states(lab)) - known
    expect(panel.locator(f".nrp-sidebar-row[data-simulation-id='{new}']")).to_have_attribute(
        "data-state", "paused", timeout=STATE_MS)
    return new


def test_the_side_panel_launches_steers_and_stops_simulations(lab):
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(f"{lab.url}lab?token={lab.token}")
            page.locator(".jp-SideBar .lm-TabBar-tab[data-id='nrp-simulations']").click(timeout=60_000)
            panel = page.locator("#nrp-simulations")
            expect(panel.locator(".nrp-sidebar-connection")).to_have_text("live", timeout=STATE_MS)
            expect(panel.locator(".nrp-sidebar-empty")).to_be_visible()
            status_item = page.locator(".nrp-statusbar")
            expect(status_item).to_have_text("NRP: 0 running")

            # The storage's experiments, each with its configs and main scripts.
            experiments = panel.locator(".nrp-sidebar-experiment-select")
            expect(experiments.locator(f"option[value='{RUNS_UNTIL_STOPPED}']")).to_have_count(1)
            experiments.select_option(RUNS_UNTIL_STOPPED)
            expect(panel.locator(".nrp-sidebar-config-select option")).to_have_text(
                ["simulation_config.json", "simulation_config_grpc.json"])
            expect(panel.locator(".nrp-sidebar-script-select")).to_have_value("main_script.py")

            first = launch_from_the_panel(panel, lab, set())
            row = panel.locator(f".nrp-sidebar-row[data-simulation-id='{first}']")
            expect(row.locator(".nrp-sidebar-experiment")).to_have_text(RUNS_UNTIL_STOPPED)
            assert rest_states(lab) == {first: "paused"}

            # One click each: start, pause, resume; the row follows /events, REST agrees.
            for button, state in (("Start", "started"), ("Pause", "paused"), ("Resume", "started")):
                row.get_by_role("button", name=button, exact=True).click()
                expect(row).to_have_attribute("data-state", state, timeout=STATE_MS)
                expect(row.locator(".nrp-sidebar-badge")).to_have_text(state)
                assert rest_states(lab)[first] == state, button
            expect(status_item).to_have_text("NRP: 1 running", timeout=STATE_MS)
            expect(row.locator(".nrp-sidebar-time")).to_have_text(re.compile(r"sim time [0-9.]+ s"), timeout=STATE_MS)

            # Its logs in a main-area tab; its control panel in a console of its own.
            row.get_by_role("button", name="Logs", exact=True).click()
            expect(page.locator(".nrp-logs h4").first).to_be_visible(timeout=STATE_MS)
            row.get_by_role("button", name="Control panel", exact=True).click()
            # The in-notebook panel itself is tested in tests/notebook/panel/; here, that it shows up.
            console_panel = page.locator(".jp-CodeConsole .nrp-panel")
            expect(console_panel).to_contain_text(f"Simulation {first}", timeout=LAUNCH_MS)
            panel.screenshot(path=str(ARTIFACTS / "side-panel-started.png"))
            page.screenshot(path=str(ARTIFACTS / "side-panel-lab.png"))

            row.get_by_role("button", name="Stop", exact=True).click()
            expect(row).to_have_attribute("data-state", "stopped", timeout=STATE_MS)
            assert rest_states(lab)[first] == "stopped"
            expect(status_item).to_have_text("NRP: 0 running")

            # "Stop all": one started and one paused simulation, stopped with one click.
            second = launch_from_the_panel(panel, lab, {first})
            panel.locator(f".nrp-sidebar-row[data-simulation-id='{second}']").get_by_role(
                "button", name="Start", exact=True).click()
            third = launch_from_the_panel(panel, lab, {first, second})
            lab.wait_state(second, "started")
            expect(status_item).to_have_text("NRP: 1 running", timeout=STATE_MS)
            panel.screenshot(path=str(ARTIFACTS / "side-panel-two-running.png"))
            panel.get_by_role("button", name="Stop all", exact=True).click()
            expect(panel.locator(".nrp-sidebar-message")).to_have_text("Stopped 2 simulations.", timeout=STATE_MS)
            assert rest_states(lab) == {first: "stopped", second: "stopped", third: "stopped"}
            for simulation_id in (second, third):
                expect(panel.locator(f".nrp-sidebar-row[data-simulation-id='{simulation_id}']")).to_have_attribute(
                    "data-state", "stopped", timeout=STATE_MS)
            panel.screenshot(path=str(ARTIFACTS / "side-panel-stopped-all.png"))

            # A refusal is shown in the panel, in red, with NRP's message: nothing left to stop, and
            # an experiment removed from the storage after the list was read.
            panel.get_by_role("button", name="Stop all", exact=True).click()
            expect(panel.locator(".nrp-sidebar-message")).to_have_text("No simulation to stop.")
            shutil.rmtree(lab.root / "experiments" / "tf_exchange")
            experiments.select_option("tf_exchange")
            panel.locator(".nrp-sidebar-launch-button").click()
            message = panel.locator(".nrp-sidebar-message.nrp-sidebar-error")
            expect(message).to_contain_text("tf_exchange", timeout=STATE_MS)
            expect(message).to_contain_text("HTTP 404")
            assert set(rest_states(lab)) == {first, second, third}
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "side-panel-failure.png"))
            raise
        finally:
            browser.close()
