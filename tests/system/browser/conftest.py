"""Fixtures for the dashboard in headless Chromium, against the emulator as ``make run`` runs it.

The browser is Debian's ``chromium`` package (``make chromium`` installs it when missing),
driven by Playwright's Python package with ``executable_path``: Playwright's own browser
downloads are never used.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect, sync_playwright

from tests.support.emulator import ADMIN, Running, emulator

ROOT = Path(__file__).resolve().parents[3]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# The page refreshes every 3 s; on a loaded 2-core machine a job may take several
# refreshes to show, so every wait is generous (a passing test does not wait that long).
WAIT_MS = 60_000

# Conditions are awaited, never slept on: these are Playwright's retrying assertions.
expect.set_options(timeout=WAIT_MS)

Login = Callable[..., Page]


@pytest.fixture(scope="package")
def running() -> Iterator[Running]:
    with emulator() as started:
        yield started


@pytest.fixture
def http(running: Running) -> Iterator[httpx.Client]:
    with running.client() as client:
        yield client


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.skip("no chromium: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def login(browser: Browser, running: Running) -> Iterator[Login]:
    """Open the dashboard in a fresh browser context and sign in with a token."""
    contexts = []
    errors: list[str] = []

    def open_page(token: str = "local-admin", viewport: ViewportSize | None = None) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{running.url}/dashboard")
        page.get_by_label("API token").fill(token)
        page.get_by_role("button", name="Open the dashboard").click()
        expect(page.locator("#who")).to_contain_text("tenant")
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert not errors, f"the page threw: {errors}"


def card(page: Page, queue: str) -> Any:
    return page.locator(f'article[data-queue="{queue}"]')


def count(page: Page, queue: str, name: str) -> Any:
    """The locator of one count on a queue's card."""
    return card(page, queue).locator(f".counts .{name} b")


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot under ``artifacts/screenshots/`` (a test artefact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def enqueue(
    http: httpx.Client,
    queue: str,
    data: dict[str, Any],
    headers: dict[str, str] = ADMIN,
    **options: Any,
) -> str:
    body: dict[str, Any] = {"data": data}
    if options:
        body["options"] = options
    reply = http.post(f"/jobs/{queue}", json=body, headers=headers)
    assert reply.status_code == 202, reply.text
    job_id: str = reply.json()["jobId"]
    return job_id
