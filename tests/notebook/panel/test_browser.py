"""The panel as a user sees it: JupyterLab in Debian's Chromium renders panel.js, and its
buttons drive a real simulation."""

import pathlib
import time

import nbformat
import pytest

from tests.conftest import EXPERIMENTS, REPO, copy_experiment_folder
from tests.live_server import experiments_root
from tests.notebook.panel.test_data_series import PIXELS, datapack_frames

pytest.importorskip("playwright")
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.browser.lab import CHROMIUM, JupyterLab, launch_chromium, run_all_cells  # noqa: E402

pytestmark = [pytest.mark.timeout(240),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed")]

# Kept for CI's artifacts, as the quickstart's browser test keeps its own.
ARTIFACTS = REPO / "test-artifacts"
# A cell still showing "[ ]:", or "Loading widget...", this long after a run request is run again.
RERUN_AFTER_S = 10.0


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("lab")
    root = experiments_root(tmp_path / "root", EXPERIMENTS, names=["tf_exchange", "cartpole"])
    slow = root / "experiments" / "panel_slow"
    copy_experiment_folder(EXPERIMENTS / "tf_exchange", slow)
    config = slow / "simulation_config.json"
    config.write_text(config.read_text().replace('"SimulationTimeout": 1,', '"SimulationTimeout": 600,'))
    (slow / "main_script.py").write_text("import time\nwhile True:\n    nrp.run_loop(1)\n    time.sleep(0.02)\n")
    server = JupyterLab(root, tmp_path).start()
    yield server
    server.stop_all_simulations()
    server.stop()


def write_notebook(path: pathlib.Path, url: str, token: str, simulation_id: int, *, replay: bool = False) -> None:
    """A notebook of one cell that shows the panel of simulation `simulation_id` at `url` (with
    `replay`, its recorded run replayed)."""
    # With a kernelspec, Lab starts the kernel instead of asking which one in a dialog.
    notebook = nbformat.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                 "language": "python"}})
    notebook.cells = [nbformat.v4.new_code_cell(
        "from nrp_jupyter import Connection, ControlPanel, Simulation\n"
        f"simulation = Simulation(Connection({url!r}, {token!r}), {simulation_id})\n"
        + ("panel = ControlPanel.replay(simulation.recording(), speed=4)\n" if replay
           else "panel = ControlPanel(simulation)\n")
        + "panel")]
    nbformat.write(notebook, path)


def shown_notebook(page):
    """The notebook in the tab on show (Lab reopens the module's earlier notebooks in hidden tabs)."""
    return page.locator(".jp-NotebookPanel:visible")


def run_notebook(page, timeout_s: float = 90.0) -> None:
    """Runs the notebook's one cell until the panel shows. Lab sometimes ignores a run requested
    while the kernel's session is still being set up, asks "Select Kernel" even for a notebook
    with a kernelspec, or (on a loaded machine, when the cell ran before Lab's widget manager
    took the kernel on) shows "Loading widget..." for good; each is answered here as a user would:
    by selecting the kernel, or running the cell again."""
    run_all_cells(page)
    select = page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept")
    notebook = shown_notebook(page)
    prompt = notebook.locator(".jp-Cell .jp-InputPrompt").first
    deadline = time.monotonic() + timeout_s
    next_run = time.monotonic() + RERUN_AFTER_S
    while not notebook.locator(".nrp-panel").is_visible():
        assert time.monotonic() < deadline, f"the panel did not show within {timeout_s} s"
        # Short timeouts: the dialog may pop up between a check and a click.
        try:
            if select.is_visible():
                select.click(timeout=2_000)
            elif time.monotonic() > next_run and (prompt.inner_text(timeout=2_000).strip() == "[ ]:"
                                                  or notebook.get_by_text("Loading widget...").is_visible()):
                notebook.locator(".jp-Cell .jp-InputArea-editor").first.click(timeout=2_000)
                page.keyboard.press("Control+Enter")
                next_run = time.monotonic() + RERUN_AFTER_S
        except PlaywrightTimeout:
            continue
        page.wait_for_timeout(250)


def rest_state(server, simulation_id) -> str:
    return server.call("GET", "simulation", str(simulation_id), "state")[1]["state"]


def test_the_panel_renders_and_its_buttons_drive_the_simulation(lab, tmp_path):
    code, record = lab.call("POST", "simulation", body={"experimentID": "panel_slow"})
    assert code == 201, record
    simulation_id = record["simulationID"]
    write_notebook(lab.root / "panel.ipynb", lab.url, lab.token, simulation_id)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(lab.notebook_url("panel.ipynb"))
            run_notebook(page)
            panel = shown_notebook(page).locator(".nrp-panel")
            badge = panel.locator(".nrp-badge")
            expect(badge).to_have_text("paused", timeout=60_000)
            expect(panel.locator(".nrp-title")).to_have_text(f"Simulation {simulation_id} · panel_slow")
            run, pause, stop = (panel.get_by_role("button", name=name, exact=True)
                                for name in ("Start", "Pause", "Stop"))
            expect(run).to_be_enabled()
            expect(pause).to_be_disabled()

            run.click()
            expect(badge).to_have_text("started", timeout=30_000)
            assert rest_state(lab, simulation_id) == "started"
            expect(panel.locator(".nrp-times")).not_to_contain_text("Simulation time 00:00:00.0 ", timeout=30_000)
            expect(panel.locator(".nrp-progress-fill")).not_to_have_attribute("style", "width: 0%;")

            pause.click()
            expect(badge).to_have_text("paused", timeout=30_000)
            expect(panel.get_by_role("button", name="Resume")).to_be_enabled()
            assert rest_state(lab, simulation_id) == "paused"
            # The history is labelled and ends with the current state; both clocks are named.
            expect(panel.locator(".nrp-history")).to_have_text("History: paused → started → paused")
            expect(panel.locator(".nrp-times")).to_contain_text("Wall time since start")
            expect(panel.locator(".nrp-times")).to_contain_text("Time in run_loop")
            expect(panel.locator(".nrp-link")).to_have_text("live")
            ARTIFACTS.mkdir(exist_ok=True)
            panel.screenshot(path=str(ARTIFACTS / "panel-paused.png"))

            # One click stops, after an undo window the button shows; undo takes it back.
            stop.click()
            undo = panel.get_by_role("button", name="Undo stop")
            expect(undo).to_be_visible()
            expect(undo).to_contain_text(" s)")
            undo.click()
            expect(stop).to_be_enabled()
            assert rest_state(lab, simulation_id) == "paused"
            stop.click()
            expect(badge).to_have_text("stopped", timeout=30_000)
            assert rest_state(lab, simulation_id) == "stopped"
            for button in ("Start", "Pause", "Stop"):
                expect(panel.get_by_role("button", name=button, exact=True)).to_be_disabled()
            # A normal stop is no connection alarm.
            expect(panel.locator(".nrp-link")).to_have_text("")
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            browser.close()


def test_datapack_series_are_plotted_and_the_image_drawn(lab, frame_server, tmp_path):
    server = frame_server(on_connect=datapack_frames)
    write_notebook(lab.root / "plots.ipynb", server.url, "t", server.simulation_id)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            # reset: a fresh workspace, without the earlier test's notebook in a hidden tab.
            page.goto(lab.notebook_url("plots.ipynb") + "&reset")
            run_notebook(page)
            panel = shown_notebook(page).locator(".nrp-panel")
            expect(panel.locator(".nrp-plot figcaption")).to_have_text(["joints", "brain"], timeout=30_000)
            joints = panel.locator(".nrp-plot").filter(has_text="joints")
            expect(joints.locator("polyline")).to_have_count(2)
            expect(joints.locator(".nrp-legend-key")).to_have_text(["angle = 2.25", "torque = -1"])
            # The lone sample of `brain` shows as a dot.
            expect(panel.locator(".nrp-plot").filter(has_text="brain").locator("circle")).to_have_count(1)
            points = joints.locator("polyline").first.get_attribute("points").split()
            assert len(points) == 10
            expect(panel.locator(".nrp-image figcaption")).to_have_text("camera (2×2 rgb8)")
            # A small image is drawn large enough to read, in whole pixels.
            assert panel.locator(".nrp-image canvas").bounding_box()["width"] >= 320
            ARTIFACTS.mkdir(exist_ok=True)
            panel.screenshot(path=str(ARTIFACTS / "panel-plots.png"))
            drawn = panel.locator(".nrp-image canvas").evaluate(
                "canvas => Array.from(canvas.getContext('2d').getImageData(0, 0, 2, 2).data)")
            assert drawn == [value for pixel in range(4) for value in (*PIXELS[pixel * 3:pixel * 3 + 3], 255)]
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            browser.close()


def test_a_steering_slider_moved_in_lab_steers_the_engine_and_the_run_replays(lab, tmp_path):
    code, record = lab.call("POST", "simulation", body={"experimentID": "cartpole"})
    assert code == 201, record
    simulation_id = record["simulationID"]
    write_notebook(lab.root / "steering.ipynb", lab.url, lab.token, simulation_id)
    write_notebook(lab.root / "replay.ipynb", lab.url, lab.token, simulation_id, replay=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(lab.notebook_url("steering.ipynb") + "&reset")
            run_notebook(page)
            panel = shown_notebook(page).locator(".nrp-panel")
            expect(panel.locator(".nrp-badge")).to_have_text("paused", timeout=60_000)
            controls = panel.locator(".nrp-control")
            expect(controls.locator(".nrp-control-label")).to_have_text(
                ["Push the cart (steps; - left, + right)", "Controller gain on the pole"])
            gain = controls.filter(has_text="Controller gain").locator("input")
            expect(gain).to_have_value("1")
            # A click on the slider's track, three quarters along, moves it there (about 2.2).
            box = gain.bounding_box()
            page.mouse.click(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
            expect(gain).not_to_have_value("1")
            moved_to = float(gain.input_value())
            assert 1.5 < moved_to <= 3
            note = controls.filter(has_text="Controller gain").locator(".nrp-control-note")
            expect(note).to_contain_text("queued (ticket", timeout=30_000)  # paused: waits for a step
            panel.get_by_role("button", name="Step", exact=True).click()
            expect(note).to_contain_text("applied at 0.000 s", timeout=30_000)
            code, body = lab.call("GET", "simulation", str(simulation_id), "datapacks", "cartpole", "steer")
            assert code == 200 and body["value"]["gain"] == pytest.approx(moved_to), body
            expect(gain).to_have_value(gain.input_value())
            ARTIFACTS.mkdir(exist_ok=True)
            panel.screenshot(path=str(ARTIFACTS / "panel-steering.png"))

            # Run it to its end, stop it, and replay its recording in a second notebook.
            panel.get_by_role("button", name="Resume", exact=True).click()
            expect(panel.locator(".nrp-badge")).to_have_text("completed", timeout=90_000)
            assert lab.call("PUT", "simulation", str(simulation_id), "state", body={"state": "stopped"})[0] == 200
            page.goto(lab.notebook_url("replay.ipynb") + "&reset")
            run_notebook(page)
            replayed = shown_notebook(page).locator(".nrp-panel")
            expect(replayed.locator(".nrp-link")).to_have_text("replay of a recorded run", timeout=30_000)
            expect(replayed.locator(".nrp-title")).to_have_text(f"Simulation {simulation_id} · cartpole")
            # The whole run, to the stop that ended its recording.
            expect(replayed.locator(".nrp-badge")).to_have_text("stopped", timeout=60_000)
            expect(replayed.locator(".nrp-history")).to_contain_text("started → completed → stopped")
            expect(replayed.locator(".nrp-plot figcaption")).not_to_have_count(0)
            expect(replayed.get_by_role("button", name="Play", exact=True)).to_be_enabled()
            expect(replayed.get_by_role("button", name="Stop", exact=True)).to_have_count(0)
            position = replayed.locator(".nrp-control").filter(has_text="Position (s)").locator("input")
            assert position.get_attribute("max") == position.input_value()  # at its end
            replayed.screenshot(path=str(ARTIFACTS / "panel-replay.png"))
        except Exception:
            page.screenshot(path=str(tmp_path / "failure.png"))
            raise
        finally:
            browser.close()
