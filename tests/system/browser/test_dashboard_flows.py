"""A flow on the dashboard: a parent's page lists its children (with their status and
results) and links to each; a child's page links back to its parent."""

from __future__ import annotations

import httpx
from playwright.sync_api import expect

from tests.support.emulator import ACME, ADMIN, wait_until
from tests.system.browser.conftest import Login


def test_a_parent_links_to_its_children_and_back(login: Login, http: httpx.Client) -> None:
    kids = [{"queue": "work", "data": {"value": n}} for n in (1, 2)]
    body = {"queue": "work", "data": {"value": 0}, "children": kids}
    reply = http.post("/flows", json=body, headers=ACME)
    assert reply.status_code == 202, reply.text
    tree = reply.json()
    parent_id = tree["jobId"]
    wait_until(
        lambda: http.get(f"/jobs/work/{parent_id}", headers=ADMIN).json()["status"] == "completed",
        "the parent",
    )
    page = login()
    page.get_by_role("button", name="work", exact=True).click()
    page.get_by_role("button", name=f"open job {parent_id}").click()

    detail = page.locator("#detail")
    expect(detail.locator("[data-status]")).to_have_text("completed")
    children = detail.locator("ul.flow li")
    expect(children).to_have_count(2)
    expect(children.first).to_contain_text("completed")
    expect(detail).to_contain_text("Children's results")
    first = tree["children"][0]["jobId"]
    detail.get_by_role("button", name=first).click()
    expect(detail.locator("h2")).to_contain_text(first)
    detail.get_by_role("button", name=parent_id).click()
    expect(detail.locator("h2")).to_contain_text(parent_id)


def test_a_flow_shows_as_a_tree_with_each_nodes_status(login: Login, http: httpx.Client) -> None:
    grandchild = {"queue": "work", "data": {"value": 3}}
    child = {"queue": "work", "data": {"value": 2}, "children": [grandchild]}
    body = {"queue": "work", "data": {"value": 1}, "children": [child]}
    reply = http.post("/flows", json=body, headers=ACME)
    assert reply.status_code == 202, reply.text
    tree = reply.json()
    root, middle = tree["jobId"], tree["children"][0]["jobId"]
    leaf = tree["children"][0]["children"][0]["jobId"]
    wait_until(
        lambda: http.get(f"/jobs/work/{root}", headers=ADMIN).json()["status"] == "completed",
        "the root",
    )
    page = login()
    page.get_by_role("button", name="work", exact=True).click()
    page.get_by_role("button", name=f"open job {root}").click()

    nested = page.locator("#detail ul.flow > li ul.flow > li")
    expect(nested).to_have_count(1)
    expect(nested).to_contain_text(leaf)
    expect(nested).to_contain_text("completed")
    expect(page.locator("#detail ul.flow > li").first).to_contain_text(middle)
