"""A pytest plugin giving nrp-user-scripts' UI acceptance suite the `page` fixture it expects from
pytest-playwright: a fresh page of the machine's headless Chromium per test.

    pytest -p playwright_page ...   (with this folder on PYTHONPATH)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from browser import chromium

SCREENSHOTS = os.environ.get("NRP_STACK_SCREENSHOTS", "")
RUN = os.environ.get("NRP_STACK_RUN", "stack")


@pytest.fixture(scope="session")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    new_page = context.new_page()
    new_page.set_default_timeout(60_000)
    yield new_page
    if SCREENSHOTS:
        # The last view of each test, whatever its outcome: what a reader of the pass table wants to see.
        new_page.screenshot(path=str(Path(SCREENSHOTS) / f"{RUN}-acceptance-{request.node.name}.png"))
    context.close()
