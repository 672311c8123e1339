"""The dashboard's key groups: a queue's page lists them with their limits and jobs, and an
admin sets a key group's limits there (PUT /queues/{q}/groups/{id})."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.support.emulator import ADMIN
from tests.system.browser.conftest import Login, enqueue, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def test_an_admin_sees_key_groups_and_sets_their_limits(login: Login, http: httpx.Client) -> None:
    # Paused, the jobs wait where the page can see them.
    assert http.post("/queues/slow/pause", headers=ADMIN).status_code == 200
    try:
        for _ in range(3):
            enqueue(http, "slow", {"action": "ok"}, group={"id": "acct-busy", "concurrency": 2})
        enqueue(http, "slow", {"action": "ok"}, group={"id": "acct-quiet"})
        page = login()
        page.get_by_role("button", name="slow", exact=True).click()

        groups = page.locator("#groups")
        busy, quiet = (
            groups.locator('tr[data-group="acct-busy"]'),
            groups.locator('tr[data-group="acct-quiet"]'),
        )
        expect(page.locator("#groups-title")).to_have_text("Key groups in slow")
        expect(busy.locator(".waiting")).to_have_text("3")
        expect(busy.locator(".concurrency")).to_have_text("2 (jobs' own)")
        expect(quiet.locator(".waiting")).to_have_text("1")
        expect(quiet.locator(".concurrency")).to_have_text("no limit")
        # Busiest first.
        expect(groups.locator("tr").first).to_have_attribute("data-group", "acct-busy")

        busy.get_by_role("button", name="edit key group acct-busy").click()
        expect(page.get_by_label("key group", exact=True)).to_have_value("acct-busy")
        page.get_by_label("concurrency", exact=True).fill("1")
        page.get_by_label("rate, jobs").fill("5")
        page.get_by_label("per ms").fill("60000")
        page.get_by_role("button", name="Set limits").click()

        expect(page.locator("#notice")).to_contain_text("key group acct-busy of slow")
        expect(busy.locator(".concurrency")).to_have_text("1 set")
        expect(busy.locator(".rate")).to_have_text("5 per 60.0 s set")
        held = http.get("/queues/slow/groups/acct-busy", headers=ADMIN).json()
        assert (held["concurrency"], held["rateLimit"]) == (1, {"max": 5, "durationMs": 60_000})
        shot(page, "key-groups-desktop")

        # Emptied, the fields hand the key group back to the limits its jobs carry.
        page.get_by_label("concurrency", exact=True).fill("")
        page.get_by_label("rate, jobs").fill("")
        page.get_by_role("button", name="Set limits").click()
        expect(busy.locator(".concurrency")).to_have_text("2 (jobs' own)")
        back = http.get("/queues/slow/groups/acct-busy", headers=ADMIN).json()
        assert (back["concurrency"], back["rateLimit"]) == (None, None)
    finally:
        assert http.post("/queues/slow/resume", headers=ADMIN).status_code == 200


def test_a_tenant_sees_no_key_groups(login: Login) -> None:
    page = login("local-acme")
    page.get_by_role("button", name="slow", exact=True).click()
    expect(page.locator("#jobs-title")).to_have_text("Jobs in slow")
    expect(page.locator("#groups-card")).to_be_hidden()
