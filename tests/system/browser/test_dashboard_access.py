"""The dashboard opened by automation (a one-time sign-in link), job lists that name the
task and the tenant, and an admin's tenant picker for history and schedules."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, Route, expect

from tests.support.emulator import ACME, ADMIN, Running
from tests.system.browser.conftest import DESKTOP, WAIT_MS, Login, enqueue

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_a_sign_in_link_opens_the_dashboard_once(
    browser: Browser, running: Running, http: httpx.Client
) -> None:
    link = http.post("/dashboard/links", headers=ADMIN)
    assert link.status_code == 201, link.text
    url = running.url + link.json()["path"]
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(WAIT_MS)
    try:
        page = context.new_page()
        page.goto(url)
        expect(page.locator("#who")).to_have_text("tenant local · admin")
        assert "signin" not in page.url, "the code left the address bar"
        again = context.new_page()  # a new tab: its own, empty sessionStorage
        again.goto(url)
        expect(again.locator("#login-error")).to_contain_text("already used")
        expect(again.locator("#app")).to_be_hidden()
    finally:
        context.close()


def test_job_lists_name_the_task_and_the_tenant(login: Login, http: httpx.Client) -> None:
    job_id = enqueue(http, "work", {"action": "ok", "value": "named"}, headers=ACME)
    page = login()
    page.get_by_role("button", name="work", exact=True).click()
    row = page.locator(f'#jobs tr[data-row="{job_id}"]')
    expect(row.locator("td.task")).to_have_text("work")
    expect(row.locator("td.tenant")).to_have_text("acme")


def test_an_admin_picks_a_tenant_for_history_and_schedules(
    login: Login, http: httpx.Client
) -> None:
    body = {"id": "acme-hourly", "queue": "work", "every": 3_600_000, "data": {"action": "ok"}}
    assert http.post("/schedules", json=body, headers=ACME).status_code in (201, 409)
    page = login()
    schedules = page.locator("#schedules")
    expect(schedules).not_to_contain_text("acme-hourly")  # the admin's own tenant first
    picker = page.get_by_label("History and schedules of tenant")
    picker.fill("acme")
    picker.press("Enter")
    expect(schedules).to_contain_text("acme-hourly")
    expect(page.locator("#history-card")).to_contain_text("success rate")


def test_the_docs_page_renders_with_every_other_host_blocked(
    browser: Browser, running: Running
) -> None:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(WAIT_MS)
    elsewhere: list[str] = []

    def only_local(route: Route) -> None:
        if route.request.url.startswith(running.url):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    try:
        context.route("**/*", only_local)
        page = context.new_page()
        page.goto(f"{running.url}/docs")
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("corral")
        expect(page.locator(".opblock-tag-section").first).to_be_visible()
        assert elsewhere == []
    finally:
        context.close()
