"""A flow through ``make run`` with the shipped queues, as the docs' example runs it."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.emulator import ACME, emulator, wait_until

pytestmark = pytest.mark.slow


def task(*numbers: int) -> dict[str, object]:
    data = {"taskName": "sum", "functionName": "calculateSum", "parameters": [list(numbers)]}
    return {"queue": "generic-task", "data": data}


def test_a_flow_of_shipped_queues_runs_its_parent_after_its_children() -> None:
    with emulator(CORRAL_LOCAL_REGISTRY="") as running, running.client() as http:
        body = {**task(100), "children": [task(1, 2, 3), task(4, 5, 6)]}
        reply = http.post("/flows", json=body, headers=ACME)
        assert reply.status_code == 202, reply.text
        tree = reply.json()
        assert tree["status"] == "waiting-children"

        def parent() -> dict[str, Any]:
            job: dict[str, Any] = http.get(
                f"/jobs/generic-task/{tree['jobId']}", headers=ACME
            ).json()
            return job

        done = wait_until(lambda: (p := parent())["status"] == "completed" and p, "the parent")
        first, second = (c["jobId"] for c in tree["children"])
        assert done["childrenResults"] == {first: 6, second: 15}
        assert done["result"] == 100
        assert [c["status"] for c in done["children"]] == ["completed", "completed"]
