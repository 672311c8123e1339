"""The HTTP client and the command line, against a scripted transport (no network)."""

from __future__ import annotations

import inspect
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from corral_client.cli import main
from corral_client.client import ApiError, AsyncClient, Client

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """Answers requests from a table and remembers what it was asked."""

    def __init__(self, answers: dict[tuple[str, str], Any], status: int = 200) -> None:
        self.answers = answers
        self.status = status
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        if key not in self.answers:
            return httpx.Response(404, json={"message": f"no route {key}"})
        return httpx.Response(self.status, json=self.answers[key])

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


def test_enqueue_sends_data_options_and_token() -> None:
    rec = Recorder(
        {("POST", "/jobs/email"): {"jobId": "j1", "queue": "email", "status": "pending"}}
    )
    client = Client("http://api", "tok", transport=httpx.MockTransport(rec))
    reply = client.enqueue("email", {"to": ["a@b.c"]}, {"delay": 5, "priority": None})
    assert reply["jobId"] == "j1"
    assert rec.requests[0].headers["authorization"] == "Bearer tok"
    assert rec.body() == {"data": {"to": ["a@b.c"]}, "options": {"delay": 5}}


def test_error_status_raises_api_error_with_message() -> None:
    rec = Recorder({("GET", "/jobs/email/nope"): {"message": "job nope not found"}}, status=404)
    client = Client("http://api", transport=httpx.MockTransport(rec))
    with pytest.raises(ApiError) as err:
        client.status("email", "nope")
    assert err.value.status == 404
    assert "not found" in str(err.value)


def test_wait_polls_until_a_final_status() -> None:
    statuses = iter(["pending", "processing", "completed"])

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"jobId": "j", "status": next(statuses)})

    client = Client("http://api", transport=httpx.MockTransport(answer))
    assert client.wait("email", "j", poll_s=0)["status"] == "completed"


async def test_async_client_lists_jobs_with_query() -> None:
    rec = Recorder({("GET", "/queues/sms/jobs"): {"jobs": [], "nextCursor": None}})
    async with AsyncClient("http://api", "t", transport=httpx.MockTransport(rec)) as client:
        await client.jobs("sms", status="failed", limit=5)
    assert dict(rec.requests[0].url.params) == {"status": "failed", "limit": "5"}


def run_cli(argv: list[str], rec: Handler) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--url", "http://api", "--token", "t", *argv], out, httpx.MockTransport(rec))
    return code, out.getvalue()


def test_cli_stats_prints_a_table() -> None:
    queue = {"name": "email", "waiting": 3, "delayed": 2, "processing": 1, "paused": False}
    code, text = run_cli(["stats"], Recorder({("GET", "/queues"): {"queues": [queue]}}))
    assert code == 0
    header, row = text.splitlines()[:2]
    assert header.split()[:4] == ["NAME", "WAITING", "DELAYED", "PROCESSING"]
    assert row.split()[:4] == ["email", "3", "2", "1"]


def test_cli_logs_prints_every_page_of_a_jobs_log() -> None:
    pages = iter(
        [
            {"logs": [{"ts": 0, "message": "rows written: 10"}], "nextCursor": "1"},
            {"logs": [{"ts": 1500, "message": "done"}], "nextCursor": None},
        ]
    )
    cursors: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        cursors.append(request.url.params.get("cursor"))
        return httpx.Response(200, json=next(pages))

    code, text = run_cli(["logs", "email", "j1"], answer)
    assert code == 0
    assert text.splitlines() == [
        "1970-01-01T00:00:00.000+00:00  rows written: 10",
        "1970-01-01T00:00:01.500+00:00  done",
    ]
    assert cursors == [None, "1"]


def test_cli_change_sends_only_what_is_given() -> None:
    rec = Recorder({("PATCH", "/jobs/email/j1"): {"jobId": "j1", "status": "pending"}})
    code, _ = run_cli(["change", "email", "j1", "--priority", "2", "--data", '{"n": 3}'], rec)
    assert code == 0
    assert rec.body() == {"priority": 2, "data": {"n": 3}}
    assert run_cli(["change", "email", "j1"], rec)[0] == 1


def test_cli_limits_sets_what_is_given_and_resets_what_is_named() -> None:
    rec = Recorder({("PATCH", "/queues/email"): {"queue": "email", "settings": {}}})
    argv = [
        "limits",
        "email",
        "--concurrency",
        "3",
        "--rate-max",
        "10",
        "--reset",
        "groupConcurrency",
    ]
    assert run_cli(argv, rec)[0] == 0
    assert rec.body() == {
        "concurrency": 3,
        "rateLimit": {"max": 10, "durationMs": 1000},
        "groupConcurrency": None,
    }


def test_cli_json_output_is_machine_readable() -> None:
    job = {"jobId": "j1", "status": "completed", "result": 6}
    code, text = run_cli(
        ["--json", "status", "generic-task", "j1"],
        Recorder({("GET", "/jobs/generic-task/j1"): job}),
    )
    assert code == 0
    assert json.loads(text) == job


def test_cli_bulk_enqueue_from_jsonl(tmp_path: Path) -> None:
    lines = [json.dumps({"n": i}) for i in range(250)]
    path = tmp_path / "jobs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    seen: list[int] = []

    def answer(request: httpx.Request) -> httpx.Response:
        jobs = json.loads(request.content)["jobs"]
        if request.url.path.endswith("/validate"):
            return httpx.Response(200, json={"valid": len(jobs)})
        seen.append(len(jobs))
        ids = [job["options"]["jobId"] for job in jobs]
        return httpx.Response(202, json={"jobs": [{"jobId": i, "status": "pending"} for i in ids]})

    code, text = run_cli(["enqueue", "generic-task", "--file", str(path), "--json"], answer)
    assert code == 0
    assert seen == [100, 100, 50]
    assert len(json.loads(text)["jobs"]) == 250


def test_cli_reports_api_errors_with_exit_code_1() -> None:
    code, _ = run_cli(
        ["pause", "email"],
        Recorder({("POST", "/queues/email/pause"): {"message": "admin only"}}, status=403),
    )
    assert code == 1


def test_cli_tables_show_times_in_utc() -> None:
    jobs = {"jobs": [{"jobId": "j1", "status": "failed", "createdAt": 1_700_000_000_000}]}
    code, text = run_cli(["jobs", "email"], Recorder({("GET", "/queues/email/jobs"): jobs}))
    assert code == 0
    assert "2023-11-14 22:13:20" in text.splitlines()[1]


def test_cli_status_wait_exits_1_unless_the_job_completed() -> None:
    job = {"jobId": "j1", "queue": "email", "status": "failed"}
    code, text = run_cli(
        ["status", "email", "j1", "--wait"], Recorder({("GET", "/jobs/email/j1"): job})
    )
    assert code == 1
    assert "failed" in text


def test_cli_schedules_pause_and_resume() -> None:
    answer = {"id": "s1", "paused": True}
    rec = Recorder({("POST", "/schedules/s1/pause"): answer, ("POST", "/schedules/s1/resume"): {}})
    assert run_cli(["schedules", "pause", "s1"], rec)[0] == 0
    assert run_cli(["schedules", "resume", "s1"], rec)[0] == 0
    assert [r.url.path for r in rec.requests] == ["/schedules/s1/pause", "/schedules/s1/resume"]
    assert run_cli(["schedules", "pause"], rec)[0] == 1


def test_cli_group_limits_shows_sets_and_resets_a_key_group() -> None:
    answer = {"id": "acct", "concurrency": 2, "rateLimit": None, "active": 0}
    path = "/queues/email/groups/acct"
    rec = Recorder({("GET", path): answer, ("PUT", path): answer})
    assert run_cli(["group-limits", "email", "acct"], rec)[0] == 0
    argv = ["group-limits", "email", "acct", "--concurrency", "2", "--rate-max", "5"]
    assert run_cli(argv, rec)[0] == 0
    assert rec.body() == {"concurrency": 2, "rateLimit": {"max": 5, "durationMs": 1000}}
    assert run_cli(["group-limits", "email", "acct", "--reset"], rec)[0] == 0
    assert rec.body() == {}
    assert [r.method for r in rec.requests] == ["GET", "PUT", "PUT"]


def test_cli_lists_a_queue_s_key_groups() -> None:
    group = {"id": "acct", "concurrency": None, "rateLimit": None, "active": 1, "waiting": 4}
    answer = {"groups": [group], "total": 1}
    rec = Recorder({("GET", "/queues/sms/groups"): answer})
    code, text = run_cli(["--json", "groups", "sms", "--limit", "5"], rec)
    assert code == 0
    assert json.loads(text) == answer
    assert rec.requests[0].url.params["limit"] == "5"


def test_cli_promotes_a_delayed_job() -> None:
    answer = {"jobId": "j1", "queue": "email", "status": "pending", "deduplicated": False}
    rec = Recorder({("POST", "/jobs/email/j1/promote"): answer})
    code, text = run_cli(["promote", "email", "j1"], rec)
    assert code == 0 and "pending" in text
    assert [r.url.path for r in rec.requests] == ["/jobs/email/j1/promote"]


def test_cli_reports_an_unreachable_api_without_a_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    code, _ = run_cli(["stats"], refuse)
    assert code == 1
    assert "cannot reach http://api" in capsys.readouterr().err


def every_call(client: Client) -> None:
    """Each public operation once, with sample arguments."""
    client.enqueue("email", {"n": 1})
    client.enqueue_batch("email", [{"data": {"n": 1}}])
    client.validate_batch("email", [{"data": {"n": 1}}])
    client.status("email", "j1")
    client.cancel("email", "j1")
    client.change("email", "j1", priority=1)
    client.logs("email", "j1", cursor="3")
    client.retry("email", "j1")
    client.promote("email", "j1")
    client.stats()
    client.stats("email")
    client.jobs("email")
    client.throughput("email")
    client.set_limits("email", concurrency=2, rateLimit=None)
    client.key_groups("email")
    client.key_group("email", "g1")
    client.set_key_group("email", "g1", concurrency=1)
    client.pause("email")
    client.resume("email")
    client.clean("email", status="completed", grace=0)
    client.redrive("email", limit=10)
    client.create_schedule({"queue": "email", "every": 60_000, "data": {}})
    client.list_schedules()
    client.get_schedule("s1")
    client.delete_schedule("s1")
    client.pause_schedule("s1")
    client.resume_schedule("s1")
    client.history("email", start="2026-11-01", end="2026-11-30")
    client.create_webhook("email", "https://hooks.example.com/in", ["failed"])
    client.list_webhooks()
    client.delete_webhook("w1")
    client.signing_secret()
    client.sign_in_link(30)
    client.me()
    client.health()
    client.add_flow({"queue": "email", "data": {}, "children": [{"queue": "email", "data": {}}]})


def test_the_client_reaches_every_route_of_the_api() -> None:
    seen: set[tuple[str, str]] = set()

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        for sample, name in (("email", "{queue}"), ("j1", "{job_id}")):
            path = path.replace(f"/{sample}", f"/{name}")
        path = path.replace("/s1", "/{schedule_id}").replace("/w1", "/{webhook_id}")
        path = path.replace("/g1", "/{group}")
        seen.add((request.method, path))
        return httpx.Response(200, json={"status": "completed"})

    every_call(Client("http://api", transport=httpx.MockTransport(answer)))

    document = json.loads((Path(__file__).parents[3] / "docs" / "openapi.json").read_text())
    routes = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    # The page and its exchange of a sign-in code are for browsers.
    assert routes - seen == {("GET", "/dashboard"), ("POST", "/dashboard/session")}
    assert seen <= routes


def test_the_async_client_has_every_call_of_the_sync_one() -> None:
    def public(cls: type) -> dict[str, Any]:
        return {n: getattr(cls, n) for n in dir(cls) if not n.startswith("_")}

    sync, async_ = public(Client), public(AsyncClient)
    assert set(sync) - {"close"} == set(async_) - {"aclose"}
    for name, method in sync.items():
        if name != "close":
            assert inspect.signature(method) == inspect.signature(async_[name]), name
            assert inspect.iscoroutinefunction(async_[name]), name
