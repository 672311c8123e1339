"""The dashboard in headless Chromium: counts move, a failed job is retried, admin actions."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, ViewportSize, expect

from tests.support.emulator import ACME, ADMIN, Running, wait_until
from tests.system.browser.conftest import DESKTOP, PHONE, Login, card, count, enqueue, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_counts_change_as_jobs_run(login: Login, http: httpx.Client) -> None:
    page = login()
    completed = count(page, "work", "completed")
    expect(completed).to_have_text(re.compile(r"^\d+$"))
    before = int(completed.inner_text())
    done = card(page, "work").locator(".summary .done")
    done_before = int(done.inner_text())

    # Paused, the jobs wait where the page can see them; resumed, they run.
    assert http.post("/queues/work/pause", headers=ADMIN).status_code == 200
    for n in range(3):
        enqueue(http, "work", {"action": "ok", "value": n})
    expect(card(page, "work").locator(".badge")).to_have_text("paused")
    expect(count(page, "work", "waiting")).to_have_text("3")
    assert http.post("/queues/work/resume", headers=ADMIN).status_code == 200

    expect(completed).to_have_text(str(before + 3))
    expect(count(page, "work", "waiting")).to_have_text("0")
    expect(card(page, "work").locator(".badge")).to_have_count(0)
    # The chart counts them in the current minute (or across the minute boundary).
    expect(done).to_have_text(str(done_before + 3))
    expect(card(page, "work").locator("svg.chart rect").first).to_be_attached()


def test_open_a_failed_job_and_retry_it(login: Login, http: httpx.Client, tmp_path: Path) -> None:
    release = tmp_path / "release"
    # A tenant's job: the admin lists it, opens it and retries it.
    data = {"action": "ok", "failUnless": str(release)}
    job_id = enqueue(http, "work", data, headers=ACME, attempts=1)
    page = login()
    page.get_by_role("button", name="work", exact=True).click()
    page.get_by_label("status").select_option("failed")
    link = page.get_by_role("button", name=f"open job {job_id}")
    link.click()

    detail = page.locator("#detail")
    expect(detail.locator("[data-status]")).to_have_text("failed")
    expect(detail).to_contain_text("does not exist yet")
    expect(detail).to_contain_text("1 of 1")
    detail.get_by_text("stack").click()
    expect(detail.locator("details pre")).to_contain_text("Traceback")
    shot(page, "job-failed-desktop")

    release.touch()
    detail.get_by_role("button", name="Retry").click()
    expect(detail.locator("[data-status]")).to_have_text("completed")
    expect(detail.get_by_role("button", name="Retry")).to_have_count(0)
    reply = http.get(f"/jobs/work/{job_id}", headers=ADMIN).json()
    assert reply["status"] == "completed" and reply["result"]["attempt"] == 1
    # The failed attempt's error is not shown as the success's.
    expect(detail).not_to_contain_text("does not exist yet")


def test_run_a_delayed_job_now(login: Login, http: httpx.Client) -> None:
    job_id = enqueue(
        http, "work", {"action": "ok", "value": "later"}, headers=ACME, delay=3_600_000
    )
    page = login()
    page.get_by_role("button", name="work", exact=True).click()
    page.get_by_label("status").select_option("pending")
    page.get_by_role("button", name=f"open job {job_id}").click()

    detail = page.locator("#detail")
    expect(detail.locator("[data-status]")).to_have_text("pending")
    detail.get_by_role("button", name="Run now").click()

    expect(page.locator("#notice")).to_contain_text("is due now")
    expect(detail.locator("[data-status]")).to_have_text("completed")
    expect(detail.get_by_role("button", name="Run now")).to_have_count(0)


def test_a_jobs_log_shows_in_its_view(login: Login, http: httpx.Client) -> None:
    job_id = enqueue(http, "work", {"action": "ok", "value": 1}, headers=ACME)
    page = login()
    page.get_by_role("button", name="work", exact=True).click()
    page.get_by_role("button", name=f"open job {job_id}").click()

    detail = page.locator("#detail")
    expect(detail.locator("[data-status]")).to_have_text("completed")
    expect(detail.get_by_label("job log")).to_contain_text("attempt 1: ok")


def test_pause_and_resume_a_queue(login: Login, http: httpx.Client) -> None:
    page = login()
    page.get_by_role("button", name="slow", exact=True).click()
    actions = page.locator("#admin-actions")

    actions.get_by_role("button", name="Pause").click()
    expect(card(page, "slow").locator(".badge")).to_have_text("paused")
    expect(page.locator("#notice")).to_have_text("slow paused")
    assert http.get("/queues/slow", headers=ADMIN).json()["paused"] is True

    actions.get_by_role("button", name="Resume").click()
    expect(card(page, "slow").locator(".badge")).to_have_count(0)
    expect(actions.get_by_role("button", name="Pause")).to_be_visible()
    assert http.get("/queues/slow", headers=ADMIN).json()["paused"] is False


def test_an_admin_sets_a_queues_concurrency(login: Login, http: httpx.Client) -> None:
    page = login()
    page.get_by_role("button", name="slow", exact=True).click()
    page.once("dialog", lambda dialog: dialog.accept("3"))
    page.locator("#admin-actions").get_by_role("button", name="Set concurrency").click()
    expect(card(page, "slow").locator(".limits")).to_contain_text("concurrency 3")
    expect(card(page, "slow").locator(".limits")).to_contain_text("set at runtime")
    assert http.get("/queues/slow", headers=ADMIN).json()["settings"]["concurrency"] == 3

    page.once("dialog", lambda dialog: dialog.accept(""))
    page.locator("#admin-actions").get_by_role("button", name="Set concurrency").click()
    expect(card(page, "slow").locator(".limits")).not_to_contain_text("set at runtime")


def test_a_tenant_token_shows_no_admin_actions(login: Login, http: httpx.Client) -> None:
    page = login("local-acme")
    expect(page.locator("#who")).to_have_text("tenant acme")
    page.get_by_role("button", name="work", exact=True).click()
    expect(page.locator("#jobs-title")).to_have_text("Jobs in work")
    expect(page.locator("#jobs tr").first).to_be_visible()
    expect(page.locator("#admin-actions button")).to_have_count(0)
    for name in ("Pause", "Resume", "Clean completed", "Redrive dead letters"):
        expect(page.get_by_role("button", name=name)).to_have_count(0)


def test_a_wrong_token_is_refused(browser: Browser, running: Running) -> None:
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{running.url}/dashboard")
        page.get_by_label("API token").fill("not-a-key")
        page.keyboard.press("Enter")
        expect(page.locator("#login-error")).to_have_text("That token was not accepted.")
        expect(page.locator("#app")).to_be_hidden()
    finally:
        context.close()


def test_keyboard_only(login: Login, http: httpx.Client) -> None:
    job_id = enqueue(http, "work", {"action": "ok", "value": "keyboard"})
    page = login()
    expect(card(page, "work")).to_be_visible()
    page.locator("body").focus()
    open_work = card(page, "work").get_by_role("button", name="work", exact=True)
    tab_until(page, open_work)
    page.keyboard.press("Enter")
    expect(page.locator("#jobs-title")).to_be_focused()

    job_link = page.get_by_role("button", name=f"open job {job_id}")
    tab_until(page, job_link)
    page.keyboard.press("Enter")
    heading = page.locator("#detail h2")
    expect(heading).to_be_focused()
    expect(heading).to_contain_text(job_id)
    expect(page.locator("#detail [data-status]")).to_have_text("completed")

    page.keyboard.press("Escape")
    expect(page.locator("#detail")).to_be_hidden()
    expect(job_link).to_be_focused()


def tab_until(page: Page, target: Locator, most: int = 60) -> None:
    """Press Tab until ``target`` has the focus (a keyboard user's path to it)."""
    for _ in range(most):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


@pytest.mark.parametrize(("name", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_screenshots(login: Login, http: httpx.Client, name: str, viewport: ViewportSize) -> None:
    job_id = enqueue(http, "work", {"action": "fail", "value": name}, attempts=1, priority=2)
    schedule = {"id": "nightly-report", "queue": "work", "cron": "0 3 * * *", "tz": "Europe/Paris"}
    created = http.post("/schedules", json={**schedule, "data": {"action": "ok"}}, headers=ADMIN)
    assert created.status_code in (201, 409), created.text
    page = login(viewport=viewport)
    page.get_by_role("button", name="work", exact=True).click()
    page.get_by_role("button", name=f"open job {job_id}").click()
    expect(page.locator("#detail [data-status]")).to_have_text("failed")
    expect(page.locator("#schedules")).to_contain_text("0 3 * * * (Europe/Paris)")
    # Nothing may stick out sideways at this width (the tables scroll inside their card).
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, f"dashboard-{name}")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"the page is {width}px wide at {viewport['width']}px"


def test_history_shows_the_tenants_last_30_days(login: Login, http: httpx.Client) -> None:
    enqueue(http, "work", {"action": "ok", "value": "history"}, headers=ACME)
    page = login("local-acme")
    history = page.locator("#history-card")
    expect(history).to_be_visible()
    expect(history).to_contain_text("success rate")
    expect(history.locator("svg.chart")).to_be_attached()


def test_page_through_jobs_then_redrive_and_clean(
    login: Login, http: httpx.Client, tmp_path: Path
) -> None:
    batch = [{"data": {"action": "ok", "value": n}} for n in range(25)]
    assert http.post("/jobs/slow/batch", json={"jobs": batch}, headers=ADMIN).status_code == 202
    runs = tmp_path / "runs.log"
    poison = enqueue(http, "slow", {"action": "fail", "runLog": str(runs)}, attempts=1)
    wait_until(lambda: http.get("/queues/slow", headers=ADMIN).json()["deadLetter"] >= 1, "DLQ")
    wait_until(lambda: http.get("/queues/slow", headers=ADMIN).json()["completed"] >= 25, "jobs")

    page = login()
    page.get_by_role("button", name="slow", exact=True).click()
    page.get_by_label("status").select_option("completed")
    rows, statuses = page.locator("#jobs tr"), page.locator('#jobs tr td[class^="status-"]')
    expect(statuses).to_have_text(["completed"] * 20)  # the filter applied, one full page
    first = rows.first.get_attribute("data-row")
    assert first
    page.get_by_role("button", name="Next").click()
    expect(page.locator("#page-no")).to_have_text("page 2")
    expect(rows.first).not_to_have_attribute("data-row", first)
    expect(statuses.first).to_have_text("completed")
    page.get_by_role("button", name="Previous").click()
    expect(page.locator("#page-no")).to_have_text("page 1")
    expect(rows.first).to_have_attribute("data-row", first)

    actions = page.locator("#admin-actions")
    actions.get_by_role("button", name="Redrive dead letters").click()
    expect(page.locator("#notice")).to_contain_text("dead letters back to slow")
    wait_until(lambda: runs.is_file() and len(runs.read_text().splitlines()) == 2, "a rerun")
    assert http.get(f"/jobs/slow/{poison}", headers=ADMIN).json()["attemptsMade"] >= 1

    page.once("dialog", lambda dialog: dialog.accept())
    actions.get_by_role("button", name="Clean completed").click()
    expect(page.locator("#notice")).to_contain_text("completed jobs from slow")
    expect(count(page, "slow", "completed")).to_have_text("0")
    assert http.get("/queues/slow", headers=ADMIN).json()["completed"] == 0
