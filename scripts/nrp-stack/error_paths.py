"""What the frontend shows for our server's error answers, each provoked for real and answered for
real by our server: an unknown experiment, no free slot, a refused token.

The browser's request is changed on its way where nothing else could provoke the case: the experiment
id (unknown experiment) and the bearer token (refused token). A row passes when the user sees a
message; its detail holds the request, our answer and what the frontend shows.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Callable

from playwright.sync_api import Page, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeout

import walk
from browser import NetworkLog, chromium
from layout import Layout
from results import PassTable

WAIT_FOR_MESSAGE_S = 15


def rest(layout: Layout, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(
        f"{layout.base_url}{path}", method=method, data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=180) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def proxy_token(layout: Layout) -> str:
    request = urllib.request.Request(
        f"{layout.base_url}/proxy/authentication/authenticate", method="POST",
        data=json.dumps({"user": layout.fs_user, "password": layout.fs_password}).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.read().decode().strip().strip('"')


def clone(layout: Layout, token: str) -> tuple[str, str]:
    """A fresh clone of the template through the proxy: its storage id and the title the overview shows."""
    status, text = rest(layout, "POST", "/proxy/storage/clone", token, {"expPath": "tf_exchange/simulation_config.json"})
    if status != 200:
        raise AssertionError(f"clone through the proxy answered {status}: {text[:200]}")
    experiment_id = text.strip().strip('"')
    _, listing = rest(layout, "GET", "/proxy/storage/experiments", token)
    for entry in json.loads(listing):
        if entry.get("id") == experiment_id:
            return experiment_id, entry["configuration"]["SimulationName"]
    raise AssertionError(f"{experiment_id} is not listed by the proxy")


def open_workbench(page: Page, layout: Layout, title: str) -> None:
    state = walk.Walk(page=page, layout=layout, mode="", clone_title=title)
    walk.login(state)
    page.click("text=EXPERIMENTS")
    page.wait_for_selector(".list-entry-wrapper", timeout=walk.STEP_TIMEOUT_MS)
    walk.open_experiment(state)


def click_initialize_and_read(page: Page) -> str:
    try:
        page.wait_for_selector('button[title="Initialize experiment"]:not([disabled])', timeout=20_000)
    except PlaywrightTimeout:
        return f"(no request sent: the Initialize button reads '{walk.initialize_title(page)}')"
    page.locator('button[title="Initialize experiment"]').click()
    deadline = time.monotonic() + WAIT_FOR_MESSAGE_S
    while time.monotonic() < deadline:
        shown = walk.on_screen_messages(page)
        if shown:
            return shown
        time.sleep(0.5)
    return ""


def unknown_experiment(route: Route) -> None:
    if route.request.method == "POST" and route.request.url.endswith("/simulation"):
        body = json.loads(route.request.post_data or "{}")
        body["experimentID"] = "no_such_experiment_0"
        route.continue_(post_data=json.dumps(body))
    else:
        route.continue_()


def refused_token(route: Route) -> None:
    headers = {**route.request.headers, "authorization": "Bearer 00000000-0000-4000-8000-000000000000"}
    route.continue_(headers=headers)


def run(layout: Layout, table: PassTable) -> None:
    mode = (layout.run / "mode").read_text().strip()
    try:
        token = proxy_token(layout)
        experiment_id, title = clone(layout, token)
    except (AssertionError, OSError) as error:
        for case in ("unknown experiment", "no free slot", "refused token"):
            table.add("errors", case, False, f"not reached: {error}")
        return
    cases: list[tuple[str, Callable[[Route], None] | None]] = [
        ("unknown experiment", unknown_experiment),
        ("no free slot", None),
        ("refused token", refused_token),
    ]
    with chromium() as browser:
        for number, (case, rewrite) in enumerate(cases, start=1):
            occupant = None
            if case == "no free slot":
                # The one slot (max_simulations=1, as NRP) taken by a simulation launched over REST.
                status, text = rest(layout, "POST", "/nrp-services/simulation", token,
                                    {"experimentID": experiment_id, "experimentConfiguration": "simulation_config.json"})
                occupant = json.loads(text).get("simulationID") if status == 201 else None
                if occupant is None:
                    table.add("errors", case, False, f"could not take the slot first: {status} {text[:200]}")
                    continue
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            network = NetworkLog()
            network.attach(page)
            try:
                open_workbench(page, layout, title)
                if rewrite is not None:
                    page.route("**/nrp-services/**", rewrite)
                shown = click_initialize_and_read(page)
                time.sleep(1)
                shot = layout.screenshots / f"{mode}-error-{number}-{case.replace(' ', '-')}.png"
                page.screenshot(path=str(shot))
                posts = [entry for entry in network.to_server() if entry["method"] == "POST"]
                answer = f"{posts[-1].get('status')} {posts[-1].get('answer', '')[:200]}" if posts else "no POST sent"
                table.add("errors", case, bool(shown) and bool(posts),
                          f"we answered: {answer}; shown: {shown or '(nothing)'}; {shot.name}")
            except (AssertionError, PlaywrightTimeout, StopIteration) as error:
                table.add("errors", case, False, f"not reached: {type(error).__name__}: {str(error)[:200]}")
            finally:
                network.write(layout.run / f"errors-network-{mode}-{number}.json")
                context.close()
                if occupant is not None:
                    rest(layout, "PUT", f"/nrp-services/simulation/{occupant}/state", token, {"state": "stopped"})
    rest(layout, "DELETE", f"/proxy/storage/{experiment_id}", token)
