"""``POST /jobs/{q}/batch``: each item is judged alone, unless ``atomic``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.functions.apiapp import ACME, ZETA, Api, start_api
from tests.support.awsmock import start_aws


@pytest.fixture
def api(prefix: str) -> Iterator[Api]:
    for stack in start_aws():
        yield from start_api(stack, prefix)


def batch(api: Api, *jobs: dict[str, Any], atomic: bool | None = None, headers: Any = ACME) -> Any:
    body: dict[str, Any] = {"jobs": list(jobs)}
    if atomic is not None:
        body["atomic"] = atomic
    return api.client.post("/jobs/strict/batch", json=body, headers=headers)


def stored(api: Api) -> list[str]:
    return sorted(r.job_id for r in api.store.list_jobs("strict", tenant="acme").records)


GOOD = {"data": {"to": "ann"}}


def test_good_items_are_accepted_and_each_bad_one_answered_with_its_errors(api: Api) -> None:
    reply = batch(
        api,
        GOOD,
        {"data": {"to": "x"}},
        {"data": {"to": "bob"}, "options": {"priority": -1}},
        {"data": {"to": "cyd", "count": 99}},
        {"data": {"to": "dee"}, "options": {"jobId": "d-1"}},
    )

    assert reply.status_code == 207, reply.text
    body = reply.json()
    assert (body["accepted"], body["rejected"]) == (2, 3)
    items = body["jobs"]
    assert [i["index"] for i in items] == [0, 1, 2, 3, 4], "one answer per item, in order"
    assert [i["status"] for i in items] == [
        "pending",
        "rejected",
        "rejected",
        "rejected",
        "pending",
    ]
    assert items[4]["jobId"] == "d-1"
    assert items[1]["errors"][0]["loc"] == ["body", "jobs", 1, "data", "to"]
    assert items[2]["errors"][0]["loc"] == ["body", "jobs", 2, "options", "priority"]
    assert items[3]["errors"][0]["loc"] == ["body", "jobs", 3, "data", "count"]
    assert all(i["jobId"] is None for i in items[1:4])
    # Nothing was written for a rejected item.
    assert stored(api) == sorted([items[0]["jobId"], "d-1"])
    assert api.run(api.service.stats, "strict").waiting == 2


def test_a_refused_webhook_rejects_only_its_item(api: Api) -> None:
    hooked = {
        "data": {"to": "bob"},
        "options": {"webhook": {"url": "https://hooks.example.com/in"}},
    }

    reply = batch(api, GOOD, hooked)

    assert reply.status_code == 207, reply.text
    (error,) = reply.json()["jobs"][1]["errors"]
    assert error["loc"] == ["body", "jobs", 1, "options", "webhook", "url"]
    assert "webhooks are not enabled" in error["msg"]
    atomic = batch(api, GOOD, hooked, atomic=True)
    assert atomic.status_code == 422 and "not enabled" in atomic.json()["message"]
    assert len(stored(api)) == 1


def test_a_fully_accepted_batch_is_still_202(api: Api) -> None:
    reply = batch(api, GOOD, GOOD)
    assert reply.status_code == 202
    assert (reply.json()["accepted"], reply.json()["rejected"]) == (2, 0)


def test_atomic_keeps_all_or_nothing(api: Api) -> None:
    reply = batch(api, GOOD, {"data": {"to": "x"}}, atomic=True)

    assert reply.status_code == 422
    assert reply.json()["details"][0]["loc"] == ["body", "jobs", 1, "data", "to"]
    assert stored(api) == []


def test_a_batch_with_no_good_item_is_a_422(api: Api) -> None:
    reply = batch(api, {"data": {"to": "x"}}, {"nope": 1})

    assert reply.status_code == 422
    locs = [d["loc"] for d in reply.json()["details"]]
    assert ["body", "jobs", 0, "data", "to"] in locs
    assert any(loc[:3] == ["body", "jobs", 1] for loc in locs)
    assert stored(api) == []


def test_the_same_job_id_twice_is_one_job(api: Api) -> None:
    first = {"data": {"to": "ann"}, "options": {"jobId": "same"}}
    second = {"data": {"to": "bob"}, "options": {"jobId": "same"}}

    reply = batch(api, first, second)

    assert reply.status_code == 202, reply.text
    a, b = reply.json()["jobs"]
    assert (a["jobId"], a["deduplicated"]) == ("same", False)
    assert (b["jobId"], b["deduplicated"]) == ("same", True)
    assert stored(api) == ["same"]
    kept = api.client.get("/jobs/strict/same", headers=ACME).json()
    assert kept["data"]["to"] == "ann", "the first entry is the job"


def test_another_tenants_id_or_tenant_rejects_only_that_item(api: Api) -> None:
    taken = {"data": {"to": "zed"}, "options": {"jobId": "zeta-job"}}
    assert batch(api, taken, headers=ZETA).status_code == 202

    reply = batch(api, GOOD, taken, {"data": {"to": "bob", "subAccountId": "zeta"}})

    assert reply.status_code == 207, reply.text
    _, conflict, forbidden = reply.json()["jobs"]
    assert conflict["errors"][0]["type"] == "conflict"
    assert conflict["errors"][0]["loc"] == ["body", "jobs", 1, "options", "jobId"]
    assert forbidden["errors"][0]["type"] == "forbidden"
    assert len(stored(api)) == 1
    assert batch(api, GOOD, taken, atomic=True).status_code == 409
    assert len(stored(api)) == 1
