"""The browser walk a user takes in NRP's frontend: log in, clone the tf_exchange template, open it,
Initialize, Start (the clock advances), Pause (the clock holds), Stop. Each step leaves a screenshot
in <work>/screenshots/<mode>-NN-<step>.png and a row in the pass table; the first step that fails ends
the walk (later steps need it) after a screenshot of what the frontend shows then."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from browser import NetworkLog, chromium
from layout import Layout
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from results import PassTable

TEMPLATE_TITLE = "tf_exchange"
STEP_TIMEOUT_MS = 60_000
# The time boxes read "Simulation Time: DD HH:MM:SS".
DURATION = re.compile(r"(\d+)\s+(\d+):(\d+):(\d+)")


@dataclass
class Walk:
    page: Page
    layout: Layout
    mode: str
    network: NetworkLog | None = None
    clone_id: str = ""
    clone_title: str = ""
    token: str = ""


def login(walk: Walk) -> str:
    page, layout = walk.page, walk.layout
    page.goto(layout.base_url, wait_until="domcontentloaded")
    # With OIDC off the frontend sends the browser to the proxy's own login page.
    page.wait_for_selector("#username", timeout=STEP_TIMEOUT_MS)
    page.fill("#username", layout.fs_user)
    page.fill("#password", layout.fs_password)
    page.click("#submit")
    page.wait_for_selector("text=EXPERIMENTS", timeout=STEP_TIMEOUT_MS)
    return page.url


def clone_template(walk: Walk) -> str:
    page = walk.page
    page.click("text=EXPERIMENTS")
    page.click("li.react-tabs__tab:has-text('Templates')")
    entry = template_entry(page)
    entry.click()
    entry.get_by_role("button", name="Clone").click()
    experiment_id, token = answered_clone(walk)
    walk.clone_id, walk.token = experiment_id, token
    walk.clone_title = clone_title(walk.layout, experiment_id, token)
    page.click("li.react-tabs__tab:has-text('My Experiments')")
    if not wait_for_title(page, walk.clone_title, STEP_TIMEOUT_MS / 2000):
        # The overview refreshes its list from the proxy every few seconds; a user who does not see the
        # clone reloads the page.
        page.reload()
        page.click("text=EXPERIMENTS")
        if not wait_for_title(page, walk.clone_title, STEP_TIMEOUT_MS / 2000):
            raise AssertionError(f"the clone {experiment_id} ('{walk.clone_title}') is not listed in My Experiments")
    return f"cloned as {experiment_id}, '{walk.clone_title}'"


def answered_clone(walk: Walk) -> tuple[str, str]:
    """The storage id the proxy gave the clone, and the bearer token the browser used, as recorded."""
    deadline = time.monotonic() + STEP_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        for entry in walk.network.entries:
            if entry["method"] == "POST" and entry["url"].endswith("/proxy/storage/clone") and entry.get("status") == 200:
                token = entry["headers"].get("authorization", "").removeprefix("Bearer ")
                return entry["answer"].strip().strip('"'), token
        walk.page.wait_for_timeout(500)
    raise AssertionError("the proxy did not answer the clone")


def clone_title(layout: Layout, experiment_id: str, token: str) -> str:
    request = urllib.request.Request(f"{layout.base_url}/proxy/storage/experiments",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        for experiment in json.loads(answer.read()):
            if experiment.get("id") == experiment_id:
                return experiment["configuration"]["SimulationName"]
    raise AssertionError(f"the proxy does not list its clone {experiment_id}")


def wait_for_title(page: Page, title: str, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if title in my_experiment_titles(page):
            return True
        page.wait_for_timeout(500)
    return False


def template_entry(page: Page):
    """The template whose title is tf_exchange itself (tf_exchange_grpc is listed too)."""
    page.wait_for_selector(".list-entry-wrapper", timeout=STEP_TIMEOUT_MS)
    for entry in page.locator(".list-entry-wrapper").all():
        if entry.is_visible() and entry_title(entry) == TEMPLATE_TITLE:
            return entry
    raise AssertionError("the Templates tab lists no tf_exchange")


def entry_title(entry) -> str:
    return entry.inner_text().strip().splitlines()[0].strip()


def my_experiment_titles(page: Page) -> list[str]:
    return [entry_title(entry) for entry in page.locator(".list-entry-wrapper").all() if entry.is_visible()]


def open_experiment(walk: Walk) -> str:
    page = walk.page
    entry = next(entry for entry in page.locator(".list-entry-wrapper").all()
                 if entry.is_visible() and entry_title(entry) == walk.clone_title)
    entry.click()
    entry.get_by_role("button", name="Open").click()
    page.wait_for_url("**/experiment/**", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector('button[title="Initialize experiment"], button[title="No servers available"]',
                            timeout=STEP_TIMEOUT_MS)
    return page.url


def initialize(walk: Walk) -> str:
    page = walk.page
    try:
        page.wait_for_selector('button[title="Initialize experiment"]:not([disabled])', timeout=20_000)
    except PlaywrightTimeout:
        raise AssertionError(f"Initialize not available; its button reads '{initialize_title(page)}'") from None
    page.locator('button[title="Initialize experiment"]').click()
    page.wait_for_selector('button[title="Start"]:not([disabled])', timeout=STEP_TIMEOUT_MS)
    return "simulation created, Start enabled (paused)"


def initialize_title(page: Page) -> str:
    if page.locator('button[title="No servers available"]').count():
        return "No servers available"
    return "Initialize experiment (disabled)"


def start(walk: Walk) -> str:
    page = walk.page
    page.locator('button[title="Start"]').click()
    page.wait_for_selector('button[title="Pause"]:not([disabled])', timeout=STEP_TIMEOUT_MS)
    first = simulation_time(page)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        time.sleep(1)
        now = simulation_time(page)
        if first is not None and now is not None and now > first:
            return f"simulation time {first} -> {now}"
    raise AssertionError(f"the clock did not advance (simulation time stays {first}; boxes {time_boxes(page)})")


def pause(walk: Walk) -> str:
    page = walk.page
    page.locator('button[title="Pause"]').click()
    page.wait_for_selector('button[title="Start"]:not([disabled])', timeout=STEP_TIMEOUT_MS)
    # A status may still be on its way: read after one status period, then again three periods later.
    time.sleep(1.5)
    held = simulation_time(page)
    time.sleep(3)
    later = simulation_time(page)
    if held != later:
        raise AssertionError(f"paused, yet the clock moved {held} -> {later}")
    return f"simulation time held at {held}"


def stop(walk: Walk) -> str:
    page = walk.page
    page.locator('button[title="Shutdown experiment"]').click()
    page.wait_for_selector('button[title="Initialize experiment"]:not([disabled])', timeout=STEP_TIMEOUT_MS)
    return "stopped; Initialize enabled again"


def logs_in_storage(walk: Walk) -> str:
    """At stop the server uploads the run's log archive into the experiment's folder of the proxy's storage."""
    deadline = time.monotonic() + 30
    names: list[str] = []
    while time.monotonic() < deadline:
        request = urllib.request.Request(f"{walk.layout.base_url}/proxy/storage/{walk.clone_id}",
                                         headers={"Authorization": f"Bearer {walk.token}"})
        with urllib.request.urlopen(request, timeout=30) as answer:
            names = [entry["name"] for entry in json.loads(answer.read())]
        archives = [name for name in names if name.endswith(".log.zip")]
        if archives:
            return f"{walk.clone_id}/{archives[0]}"
        time.sleep(1)
    raise AssertionError(f"no log archive in the proxy's {walk.clone_id}: {names}")


def time_boxes(page: Page) -> list[str]:
    return [box.inner_text().strip() for box in page.locator(".experiment-time-box").all() if box.is_visible()]


def simulation_time(page: Page) -> float | None:
    for text in time_boxes(page):
        if text.startswith("Simulation Time:"):
            found = DURATION.search(text)
            if found is None:
                return None
            days, hours, minutes, seconds = (int(part) for part in found.groups())
            return float(((days * 24 + hours) * 60 + minutes) * 60 + seconds)
    return None


def on_screen_messages(page: Page) -> str:
    """What the frontend shows the user: error dialogs and toast notifications."""
    texts = []
    for selector in (".error-dialog-wrapper", ".toast-notification-wrapper .toast"):
        texts += [element.inner_text().strip().replace("\n", " / ") for element in page.locator(selector).all()]
    return " | ".join(text for text in texts if text)


STEPS: list[tuple[str, Callable[[Walk], str]]] = [
    ("login", login),
    ("clone template", clone_template),
    ("open", open_experiment),
    ("initialize", initialize),
    ("start, clock advances", start),
    ("pause, clock holds", pause),
    ("stop", stop),
    ("logs in proxy storage", logs_in_storage),
]


def run(layout: Layout, table: PassTable) -> None:
    mode = (layout.run / "mode").read_text().strip()
    network = NetworkLog()
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        network.attach(page)
        walk = Walk(page=page, layout=layout, mode=mode, network=network)
        failed = False
        for number, (name, step) in enumerate(STEPS, start=1):
            if failed:
                table.add("walk", name, False, "not reached")
                continue
            shot = layout.screenshots / f"{mode}-{number:02d}-{name.split(',')[0].replace(' ', '-')}.png"
            try:
                detail = step(walk)
                passed = True
            except (AssertionError, PlaywrightTimeout, StopIteration) as error:
                detail = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
                passed, failed = False, True
            shown = on_screen_messages(page)
            page.screenshot(path=str(shot))
            table.add("walk", name, passed, "; ".join(filter(None, [detail, f"shown: {shown}" if shown else "",
                                                                     shot.name])))
        network.write(layout.run / f"walk-network-{mode}.json")
        if walk.clone_id:
            # The walk's clone goes with it, as the acceptance suite's does.
            request = urllib.request.Request(f"{layout.base_url}/proxy/storage/{walk.clone_id}", method="DELETE",
                                             headers={"Authorization": f"Bearer {walk.token}"})
            urllib.request.urlopen(request, timeout=30).close()
