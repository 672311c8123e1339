"""``POST /flows`` and a flow's nodes through the API: the tree answer, validation of
every node before anything is written, a parent's children and their results, counts,
and cancelling a parent or a child."""

from __future__ import annotations

from typing import Any

import pytest
from corral.drain import Drainer
from corral.failures import FailureRecorder
from corral.poller.hooks import StoreHooks

from tests.functions.apiapp import ACME, ADMIN, Api
from tests.support.awsmock import AwsStack


def node(n: int, queue: str = "email", **more: Any) -> dict[str, Any]:
    return {"queue": queue, "data": {"n": n}, **more}


def flow(api: Api, body: dict[str, Any], headers: dict[str, str] = ACME) -> Any:
    return api.client.post("/flows", json=body, headers=headers)


def job(api: Api, queue: str, job_id: str) -> dict[str, Any]:
    reply = api.client.get(f"/jobs/{queue}/{job_id}", headers=ACME)
    assert reply.status_code == 200, reply.text
    body: dict[str, Any] = reply.json()
    return body


def drain(api: Api, queue: str) -> None:
    async def run() -> None:
        q = api.service.queue(queue)
        hooks = StoreHooks(q, api.store, FailureRecorder(api.store, None))
        await Drainer(q, concurrency=2, hooks=hooks).run(until_empty=True)

    api.run(run)


def table_size(aws: AwsStack) -> int:
    return int(aws.dynamodb.scan(TableName=aws.table, Select="COUNT")["Count"])


def test_a_flow_is_accepted_as_a_tree_and_its_parent_shows_its_children(api: Api) -> None:
    reply = flow(api, node(0, children=[node(1), node(2, children=[node(3)])]))
    assert reply.status_code == 202, reply.text
    tree = reply.json()
    assert tree["status"] == "waiting-children"
    assert [c["status"] for c in tree["children"]] == ["pending", "waiting-children"]
    assert tree["children"][1]["children"][0]["status"] == "pending"
    assert "email" in api.wakes.queues

    parent = job(api, "email", tree["jobId"])
    assert parent["status"] == "waiting-children"
    assert [(c["jobId"], c["status"]) for c in parent["children"]] == [
        (tree["children"][0]["jobId"], "pending"),
        (tree["children"][1]["jobId"], "waiting-children"),
    ]
    assert parent["childrenResults"] is None
    middle = job(api, "email", tree["children"][1]["jobId"])
    assert middle["parent"] == {"jobId": tree["jobId"], "queue": "email"}
    counts = api.client.get("/queues/email", headers=ADMIN).json()
    assert counts["waitingChildren"] == 2

    for _ in range(3):  # leaves, then the middle parent, then the root
        drain(api, "email")
    parent = job(api, "email", tree["jobId"])
    assert parent["status"] == "completed"
    assert set(parent["childrenResults"]) == {c["jobId"] for c in tree["children"]}
    assert parent["childrenFailures"] == {}
    assert api.client.get("/queues/email", headers=ADMIN).json()["waitingChildren"] == 0


@pytest.mark.parametrize(
    ("bad", "status"),
    [
        (node(5, queue="nope"), 404),
        ({"queue": "strict", "data": {"to": "x"}}, 422),
        ({"queue": "email", "data": {"n": 1, "subAccountId": "zeta"}}, 403),
        (node(5, options={"deduplication": {"id": "d1"}}), 422),
    ],
)
def test_one_bad_node_refuses_the_whole_flow_and_writes_nothing(
    api: Api, aws: AwsStack, bad: dict[str, Any], status: int
) -> None:
    reply = flow(api, node(0, children=[node(1), node(2, children=[bad])]))
    assert reply.status_code == status, reply.text
    if status == 422 and bad["queue"] == "strict":
        (error,) = reply.json()["details"]
        assert error["loc"][:5] == ["body", "children", 1, "children", 0]
    assert table_size(aws) == 0


def test_a_flow_deeper_than_ten_levels_is_refused(api: Api, aws: AwsStack) -> None:
    body = node(11)
    for n in range(10, 0, -1):
        body = node(n, children=[body])
    assert flow(api, body).status_code == 422
    assert table_size(aws) == 0
    assert flow(api, body["children"][0]).status_code == 202  # ten levels are fine


def test_cancelling_a_parent_cancels_its_unfinished_children(api: Api) -> None:
    tree = flow(api, node(0, children=[node(1), node(2, children=[node(3)])])).json()
    reply = api.client.delete(f"/jobs/email/{tree['jobId']}", headers=ACME)
    assert reply.status_code == 200, reply.text
    leaf = tree["children"][1]["children"][0]["jobId"]
    for job_id in (tree["jobId"], tree["children"][0]["jobId"], leaf):
        assert job(api, "email", job_id)["status"] == "cancelled"
    drain(api, "email")
    assert job(api, "email", tree["jobId"])["status"] == "cancelled"


def test_a_child_cancelled_alone_fails_its_parent_unless_ignored(api: Api) -> None:
    tree = flow(api, node(0, children=[node(1), node(2)])).json()
    first = tree["children"][0]["jobId"]
    assert api.client.delete(f"/jobs/email/{first}", headers=ACME).status_code == 200
    parent = job(api, "email", tree["jobId"])
    assert parent["status"] == "failed" and first in parent["error"]["message"]

    ignored = node(2, options={"ignoreDependencyOnFailure": True})
    tree = flow(api, node(0, children=[node(1), ignored])).json()
    second = tree["children"][1]["jobId"]
    assert api.client.delete(f"/jobs/email/{second}", headers=ACME).status_code == 200
    drain(api, "email")
    drain(api, "email")
    parent = job(api, "email", tree["jobId"])
    assert parent["status"] == "completed"
    assert list(parent["childrenFailures"]) == [second]


def test_a_batch_with_a_completion_job_runs_it_after_the_batch(api: Api) -> None:
    body = {"jobs": [{"data": {"n": 1}}, {"data": {"n": 2}}], "onComplete": node(9)}
    reply = api.client.post("/jobs/email/batch", json=body, headers=ACME)
    assert reply.status_code == 202, reply.text
    answer = reply.json()
    done = answer["onComplete"]
    assert done["status"] == "waiting-children"
    assert [j["status"] for j in answer["jobs"]] == ["pending", "pending"]
    drain(api, "email")
    drain(api, "email")
    completion = job(api, "email", done["jobId"])
    assert completion["status"] == "completed"
    assert set(completion["childrenResults"]) == {j["jobId"] for j in answer["jobs"]}


def test_a_plain_batch_answers_no_completion_job(api: Api) -> None:
    body = {"jobs": [{"data": {"n": 1}}]}
    reply = api.client.post("/jobs/email/batch", json=body, headers=ACME)
    assert reply.status_code == 202 and reply.json()["onComplete"] is None


def test_parents_waiting_for_children_are_listed_by_their_status(api: Api) -> None:
    tree = flow(api, node(0, children=[node(1)])).json()
    reply = api.client.get("/queues/email/jobs?status=waiting-children", headers=ACME)
    assert reply.status_code == 200, reply.text
    assert [j["jobId"] for j in reply.json()["jobs"]] == [tree["jobId"]]


def test_a_node_s_status_and_its_links_come_from_one_read_of_its_item(api: Api) -> None:
    tree = flow(api, node(0, children=[node(1), node(2)])).json()
    child = tree["children"][0]["jobId"]
    reads: list[str] = []

    def count(params: dict[str, Any], **_: Any) -> None:
        reads.append(params["Key"]["pk"]["S"])

    events = api.store.client.meta.events
    events.register("provide-client-params.dynamodb.GetItem", count)
    try:
        parent = job(api, "email", tree["jobId"])
        # Its own item once (the record with its links), then each child's record.
        ids = [tree["jobId"], *(c["jobId"] for c in tree["children"])]
        assert sorted(reads) == sorted(f"email#{i}" for i in ids)
        reads.clear()
        assert job(api, "email", child)["parent"] == {"jobId": tree["jobId"], "queue": "email"}
        assert reads == [f"email#{child}"], "a child: its own item, once"
    finally:
        events.unregister("provide-client-params.dynamodb.GetItem", count)
    assert [c["jobId"] for c in parent["children"]] == [c["jobId"] for c in tree["children"]]
