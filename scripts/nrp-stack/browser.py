"""Headless Chromium for the walk and the acceptance suite, and a recorder of what the page asks of
the proxy and of our server (method, path, the headers that matter, body; status and answer)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, Error, Page, Request, Response, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
# The requests worth recording: the proxy's API and our server's, not the frontend's own files.
RECORDED_PATHS = ("/proxy/", "/nrp-services/")
RECORDED_HEADERS = ("authorization", "content-type")
BODY_LIMIT = 600


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class NetworkLog:
    """Every recorded request with its answer, in order; written as JSON for FINDINGS.md."""

    def __init__(self) -> None:
        self.entries: list[dict] = []
        self.console: list[str] = []

    def attach(self, page: Page) -> None:
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"[:BODY_LIMIT]))

    def _recorded(self, request: Request) -> bool:
        return any(part in request.url for part in RECORDED_PATHS)

    def _entry(self, request: Request) -> dict:
        headers = request.headers
        return {
            "method": request.method,
            "url": request.url,
            "headers": {name: headers[name] for name in RECORDED_HEADERS if name in headers},
            "body": (request.post_data or "")[:BODY_LIMIT],
        }

    def _finished(self, request: Request) -> None:
        if not self._recorded(request):
            return
        entry = self._entry(request)
        try:
            response: Response | None = request.response()
        except Error:  # the page closed while its last requests finished
            response = None
        if response is not None:
            entry["status"] = response.status
            try:
                entry["answer"] = response.text()[:BODY_LIMIT]
            except Error as error:  # a body the browser no longer holds (redirects, aborted reads)
                entry["answer"] = f"<unreadable: {error}>"
        self.entries.append(entry)

    def _failed(self, request: Request) -> None:
        if self._recorded(request):
            self.entries.append({**self._entry(request), "failure": request.failure})

    def to_server(self) -> list[dict]:
        return [entry for entry in self.entries if "/nrp-services/" in entry["url"]]

    def write(self, path: Path) -> None:
        path.write_text(json.dumps({"requests": self.entries, "console": self.console}, indent=1))
