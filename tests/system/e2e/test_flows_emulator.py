"""A flow through ``make run`` with the shipped queues, as the docs' example runs it."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from corral_client.cli import main

from tests.support.emulator import ACME, emulator, wait_until

pytestmark = pytest.mark.slow


def task(*numbers: int) -> dict[str, object]:
    data = {"taskName": "sum", "functionName": "calculateSum", "parameters": [list(numbers)]}
    return {"queue": "generic-task", "data": data}


def test_a_flow_of_shipped_queues_runs_its_parent_after_its_children(tmp_path: Path) -> None:
    with emulator(registry="") as running, running.client() as http:
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

        # The same through the CLI: the tree of ids, followed to its end.
        flow_file = tmp_path / "flow.json"
        flow_file.write_text(json.dumps(body), encoding="utf-8")
        out = io.StringIO()
        argv = ["--url", running.url, "--token", "local-acme", "flow", str(flow_file), "--wait"]
        assert main(argv, out) == 0, out.getvalue()
        lines = out.getvalue().splitlines()
        assert len(lines) == 3 and all(line.endswith("completed") for line in lines)
        assert lines[1].startswith("├─ generic-task") and lines[2].startswith("└─ generic-task")
