"""``POST /jobs/{queue}/validate``: a batch checked as ``/batch`` checks it, every bad job
named by its index, and nothing written."""

from __future__ import annotations

from tests.functions.apiapp import ACME, Api


def test_every_bad_job_is_named_and_nothing_is_written(api: Api) -> None:
    jobs = [
        {"data": {"to": "ok@example.com"}, "options": {"jobId": "v-1"}},
        {"data": {"to": "x"}},
        {"data": {"to": "fine", "count": 99}},
    ]
    reply = api.client.post("/jobs/strict/validate", json={"jobs": jobs}, headers=ACME)
    assert reply.status_code == 422, reply.text
    where = sorted((d["loc"][2], d["loc"][-1]) for d in reply.json()["details"])
    assert where == [(1, "to"), (2, "count")]
    assert api.client.get("/jobs/strict/v-1", headers=ACME).status_code == 404

    good = api.client.post("/jobs/strict/validate", json={"jobs": jobs[:1]}, headers=ACME)
    assert good.status_code == 200 and good.json() == {"valid": 1}
    assert api.client.get("/jobs/strict/v-1", headers=ACME).status_code == 404
    theirs = [{"data": {"to": "zzz", "subAccountId": "zeta"}}]
    refused = api.client.post("/jobs/strict/validate", json={"jobs": theirs}, headers=ACME)
    assert refused.status_code == 403, "as /batch: another tenant's data is refused"
    unknown = api.client.post("/jobs/nope/validate", json={"jobs": jobs}, headers=ACME)
    assert unknown.status_code == 404
    assert api.client.post("/jobs/strict/validate", json={"jobs": jobs}).status_code == 401
