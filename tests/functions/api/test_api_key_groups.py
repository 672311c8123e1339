"""Key groups through the API: options.group at enqueue, PUT/GET /queues/{q}/groups/{id}."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tests.functions.apiapp import ACME, ADMIN, Api, delete_prefix_sync, start_api
from tests.support.awsmock import start_aws

URL = "/queues/email/groups/acct-1"


@pytest.fixture
def api(prefix: str) -> Iterator[Api]:
    for stack in start_aws():
        yield from start_api(stack, prefix)


def enqueue(api: Api, options: dict[str, Any]) -> Any:
    return api.client.post("/jobs/email", json={"data": {"n": 1}, "options": options}, headers=ACME)


def test_a_key_group_without_runtime_limits_answers_nulls(api: Api) -> None:
    group = {"id": "acct-1", "concurrency": 2, "rateLimit": {"max": 10, "durationMs": 1000}}
    assert enqueue(api, {"group": group}).status_code == 202

    held = api.client.get(URL, headers=ADMIN).json()
    assert held == {
        "id": "acct-1",
        "concurrency": None,
        "rateLimit": None,
        "active": 0,
        "waiting": 1,
        "held": False,
        "jobConcurrency": 2,
        "jobRateLimit": {"max": 10, "durationMs": 1000},
    }
    job_id = enqueue(api, {"group": group}).json()["jobId"]
    record = api.client.get(f"/jobs/email/{job_id}", headers=ACME).json()
    assert record["options"]["group"] == group


@pytest.mark.parametrize(
    "group",
    [
        {},
        {"id": "has space"},
        {"id": "a", "concurrency": 0},
        {"id": "a", "rateLimit": {"max": 0}},
        {"id": "a", "rateLimit": {"max": 1, "durationMs": 0}},
        {"id": "a", "unknown": 1},
    ],
)
def test_invalid_group_options_are_422(api: Api, group: dict[str, Any]) -> None:
    reply = enqueue(api, {"group": group})
    assert reply.status_code == 422, reply.text


def test_a_key_groups_limits_are_set_at_runtime_durably_and_audited(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    assert enqueue(api, {"group": {"id": "acct-1", "concurrency": 5}}).status_code == 202
    body = {"concurrency": 1, "rateLimit": {"max": 3, "durationMs": 60_000}}
    assert api.client.put(URL, json=body, headers=ACME).status_code == 403
    caplog.set_level(logging.INFO)
    reply = api.client.put(URL, json=body, headers=ADMIN)
    assert reply.status_code == 200, reply.text
    assert reply.json() == {
        "id": "acct-1",
        "concurrency": 1,
        "rateLimit": {"max": 3, "durationMs": 60_000},
        "active": 0,
        "waiting": 1,
        "held": False,
        "jobConcurrency": 5,
        "jobRateLimit": None,
    }
    # One audit line, on the audit log beside the other admin actions, and no other copy.
    ours = [r for r in caplog.records if r.name.startswith("corral")]
    (line,) = [r for r in ours if "acct-1" in r.getMessage()]
    assert (line.name, line.levelno) == ("corral.audit", logging.WARNING)
    assert line.audit == {  # type: ignore[attr-defined]
        "who": {"tenant": "acme", "keyId": line.audit["who"]["keyId"]},  # type: ignore[attr-defined]
        "action": "set-group-limits",
        "queue": "email",
        "group": "acct-1",
        "old": {},
        "new": {"concurrency": 1, "rateMax": 3, "rateMs": 60_000},
    }

    # Redis lost the mirror: the next read seeds it again from the job table.
    delete_prefix_sync(api.service.queue("email").keys.prefix)
    again = api.client.get(URL, headers=ADMIN).json()
    assert (again["concurrency"], again["rateLimit"]) == (1, {"max": 3, "durationMs": 60_000})

    # An empty body hands the key group back to the limits its jobs carry.
    back = api.client.put(URL, json={}, headers=ADMIN).json()
    assert (back["concurrency"], back["rateLimit"]) == (None, None)


def test_the_key_groups_of_a_queue_are_listed_busiest_first(api: Api) -> None:
    for key, count in (("quiet", 1), ("busy", 3)):
        for _ in range(count):
            assert enqueue(api, {"group": {"id": key, "concurrency": 1}}).status_code == 202
    assert api.client.put("/queues/email/groups/idle", json={"concurrency": 4}, headers=ADMIN)
    assert api.client.get("/queues/email/groups", headers=ACME).status_code == 403

    listed = api.client.get("/queues/email/groups", headers=ADMIN).json()
    assert listed["total"] == 3
    rows = [
        (g["id"], g["waiting"], g["concurrency"], g["jobConcurrency"]) for g in listed["groups"]
    ]
    assert rows == [("busy", 3, None, 1), ("quiet", 1, None, 1), ("idle", 0, 4, None)]
    first = api.client.get("/queues/email/groups?limit=1", headers=ADMIN).json()
    assert (first["total"], [g["id"] for g in first["groups"]]) == (3, ["busy"])
    assert api.client.get("/queues/email/groups?limit=0", headers=ADMIN).status_code == 422
    assert api.client.get("/queues/nope/groups", headers=ADMIN).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"concurrency": -1},
        {"concurrency": "many"},
        {"rateLimit": {"max": 1, "durationMs": 0}},
        {"x": 1},
    ],
)
def test_invalid_key_group_limits_are_422(api: Api, body: dict[str, Any]) -> None:
    reply = api.client.put(URL, json=body, headers=ADMIN)
    assert reply.status_code == 422, reply.text


def test_a_bad_group_id_or_queue_is_refused(api: Api) -> None:
    assert api.client.put("/queues/email/groups/a%20b", json={}, headers=ADMIN).status_code == 422
    assert api.client.get("/queues/nope/groups/a", headers=ADMIN).status_code == 404
