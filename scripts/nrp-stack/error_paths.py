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

import walk
from browser import NetworkLog, chromium
from layout import Layout
from playwright.sync_api import Page, Route
from playwright.sync_api import TimeoutError as PlaywrightTimeout
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
        if "/authentication/loginpage" in page.url:
            # The frontend's answer to a 477: log in again, then come back (redirect_uri).
            return f"the proxy's login page ({page.url.split('?')[0]})"
        shown = walk.on_screen_messages(page)
        if shown:
            return shown
        page.wait_for_timeout(500)
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


def stop_active(layout: Layout, token: str) -> None:
    """Whatever a case launched ends with it: the next case needs the one slot."""
    status, text = rest(layout, "GET", "/nrp-services/simulation", token)
    if status != 200:
        return
    for simulation in json.loads(text):
        if simulation.get("state") not in ("stopped", "failed"):
            rest(layout, "PUT", f"/nrp-services/simulation/{simulation['simulationID']}/state", token,
                 {"state": "stopped"})


def take_the_slot(layout: Layout, token: str, experiment_id: str) -> None:
    """The one slot (max_simulations=1, as NRP) taken by a simulation launched over REST."""
    status, text = rest(layout, "POST", "/nrp-services/simulation", token,
                        {"experimentID": experiment_id, "experimentConfiguration": "simulation_config.json"})
    if status != 201:
        raise AssertionError(f"could not take the slot first: {status} {text[:200]}")
    # The proxy polls every refreshInterval (2 s here); it lists the server as busy from its next poll.
    time.sleep(5)


CASES = ("unknown experiment", "no free slot, as the proxy sees it", "no free slot, our 409", "refused token")


def run(layout: Layout, table: PassTable) -> None:
    mode = (layout.run / "mode").read_text().strip()
    try:
        token = proxy_token(layout)
        experiment_id, title = clone(layout, token)
    except (AssertionError, OSError) as error:
        for case in CASES:
            table.add("errors", case, False, f"not reached: {error}")
        return
    with chromium() as browser:
        for number, case in enumerate(CASES, start=1):
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            page = context.new_page()
            network = NetworkLog()
            network.attach(page)
            try:
                if case == "no free slot, as the proxy sees it":
                    take_the_slot(layout, token, experiment_id)
                open_workbench(page, layout, title)
                if case == "unknown experiment":
                    page.route("**/nrp-services/**", unknown_experiment)
                elif case == "refused token":
                    page.route("**/nrp-services/**", refused_token)
                elif case == "no free slot, our 409":
                    # The frontend offers Initialize only while the proxy lists the server as free: keep its
                    # last list of free servers while the slot is taken, to see what our 409 shows.
                    free = rest(layout, "GET", "/proxy/availableServers", token)[1]
                    page.route("**/proxy/availableServers",
                               lambda route, free=free: route.fulfill(status=200, body=free,
                                                                      content_type="application/json"))
                    take_the_slot(layout, token, experiment_id)
                shown = click_initialize_and_read(page)
                time.sleep(1)
                shot = layout.screenshots / f"{mode}-error-{number}-{case.split(',')[0].replace(' ', '-')}.png"
                page.screenshot(path=str(shot))
                posts = [entry for entry in network.to_server() if entry["method"] == "POST"]
                answer = f"{posts[-1].get('status')} {posts[-1].get('answer', '')[:200]}" if posts else "no POST sent"
                # Only a busy server may be told by the proxy alone; every other case needs our answer.
                proxy_told = case == "no free slot, as the proxy sees it" and "No servers available" in shown
                readable = bool(shown) and (bool(posts) or proxy_told)
                table.add("errors", case, readable,
                          f"we answered: {answer}; shown: {shown or '(nothing)'}; {shot.name}")
            except (AssertionError, PlaywrightTimeout, StopIteration) as error:
                table.add("errors", case, False, f"not reached: {type(error).__name__}: {str(error)[:200]}")
            finally:
                network.write(layout.run / f"errors-network-{mode}-{number}.json")
                context.close()
                stop_active(layout, token)
    rest(layout, "DELETE", f"/proxy/storage/{experiment_id}", token)
