"""Nothing about the server leaks to a tenant: a failed job shows its message and error
type, never the stack (server file paths); the stack goes to the logs, and to admins."""

from __future__ import annotations

import logging

import pytest

from tests.functions.security.secapp import ACME, ADMIN, SECRET_PATH, SecApp, enqueue, fail_the_job


def test_a_tenant_sees_the_message_and_type_of_a_failure_but_no_stack(
    secapp: SecApp, caplog: pytest.LogCaptureFixture
) -> None:
    job_id = enqueue(secapp, ACME, attempts=1)
    with caplog.at_level(logging.WARNING, logger="corral.execute"):
        fail_the_job(secapp, job_id)

    seen = secapp.client.get(f"/jobs/email/{job_id}", headers=ACME)
    assert seen.status_code == 200
    assert seen.json()["error"] == {
        "message": f"the disk said no at {SECRET_PATH}",
        "type": "ValueError",
    }
    assert "Traceback" not in seen.text and '.py\\", line' not in seen.text
    listed = secapp.client.get("/queues/email/jobs?status=failed", headers=ACME).json()
    assert [j["error"] for j in listed["jobs"]] == [seen.json()["error"]]

    # The stack is in the logs, with the job's id ...
    (logged,) = [r for r in caplog.records if getattr(r, "job_id", None) == job_id]
    assert "ValueError" in logged.getMessage() and "in boom" in getattr(logged, "stack", "")
    # ... and an admin, who runs the service, sees it too.
    admin = secapp.client.get(f"/jobs/email/{job_id}", headers=ADMIN).json()
    assert "Traceback" in admin["error"]["stack"] and "boom" in admin["error"]["stack"]
