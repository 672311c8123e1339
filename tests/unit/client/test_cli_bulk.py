"""Bulk enqueue from a JSON-lines file, ``--json`` anywhere, and a 422's field errors, over a
scripted transport (the API itself is in tests/system/e2e/test_cli_bulk.py)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from corral_client.bulk import BadLinesError, line_job_id, read_lines
from corral_client.cli import main


def run(argv: list[str], answer: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["--url", "http://api", "--token", "t", *argv], out, httpx.MockTransport(answer))
    return code, out.getvalue()


def test_json_goes_before_or_after_the_subcommand() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"jobId": "j1", "status": "completed"})

    for argv in (["--json", "status", "q", "j1"], ["status", "q", "j1", "--json"]):
        code, text = run(argv, answer)
        assert code == 0 and json.loads(text)["jobId"] == "j1", argv
    code, text = run(["status", "q", "j1"], answer)
    assert code == 0 and text.startswith("jobId")


def test_a_422_shows_each_field_error(capsys: pytest.CaptureFixture[str]) -> None:
    details = [
        {"loc": ["body", "data", "to"], "msg": "value is not a valid email", "type": "x"},
        {"loc": ["body", "options", "delay"], "msg": "must be >= 0", "type": "y"},
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"error": "validation_error", "message": "the request is invalid"}
        return httpx.Response(422, json={**body, "details": details})

    code, _ = run(["enqueue", "email", "--data", "{}"], answer)
    err = capsys.readouterr().err
    assert code == 1
    assert "422: the request is invalid" in err
    assert "body.data.to: value is not a valid email" in err
    assert "body.options.delay: must be >= 0" in err


def test_ids_are_stable_per_content_and_occurrence_and_kept_when_given() -> None:
    text = '{"n": 1}\n\n{"n": 1}\n{"data": {"n": 2}, "options": {"jobId": "mine"}}\n'
    first = read_lines(text)
    assert [line.number for line in first] == [1, 3, 4]
    ids = [line.options["jobId"] for line in first]
    assert ids[0] != ids[1] and ids[2] == "mine"
    assert ids[:2] == [line_job_id({"n": 1}, 0), line_job_id({"n": 1}, 1)]
    # A line added above, or a seed, changes nothing / everything.
    assert [x.options["jobId"] for x in read_lines('{"n": 0}\n' + text)][1:] == ids
    assert read_lines(text, seed="again")[0].options["jobId"] != ids[0]
    # A payload with its own "data" field is data, not an envelope.
    (line,) = read_lines('{"data": {"x": 1}, "to": "a"}')
    assert line.data == {"data": {"x": 1}, "to": "a"}


def test_every_bad_line_is_named_before_anything_is_sent(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text(
        '{"n": 1}\n{"n": \n[1, 2]\n{"data": 5}\n{"data": {}, "options": {"jobId": "a"}}\n'
        '{"data": {}, "options": {"jobId": "a"}}\n'
    )
    with pytest.raises(BadLinesError) as bad:
        read_lines(path.read_text())
    assert [p.split(":")[0] for p in bad.value.problems] == [
        "line 2",
        "line 3",
        "line 4",
        "line 6",
    ]
    assert "also on line 5" in bad.value.problems[-1]
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    assert run(["enqueue", "q", "--file", str(path)], answer)[0] == 1
    assert sent == []


def test_the_apis_field_errors_name_lines_and_nothing_is_enqueued(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text("".join(json.dumps({"n": n}) + "\n" for n in range(5)))
    paths: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        jobs = json.loads(request.content)["jobs"]
        bad = [
            {"loc": ["body", "jobs", i, "data", "n"], "msg": "too big", "type": "x"}
            for i, job in enumerate(jobs)
            if job["data"]["n"] >= 3
        ]
        body = {"message": "the request is invalid", "details": bad}
        return httpx.Response(422 if bad else 200, json=body if bad else {"valid": len(jobs)})

    code, _ = run(["enqueue", "q", "--file", str(path), "--batch-size", "2"], answer)
    err = capsys.readouterr().err
    assert code == 1
    assert "line 4: data.n: too big" in err and "line 5: data.n: too big" in err
    assert set(paths) == {"/jobs/q/validate"} and len(paths) == 3


def test_dashboard_prints_a_one_time_link_under_the_api_url() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/dashboard/links" and json.loads(request.content) == {"ttl": 30}
        return httpx.Response(201, json={"path": "/dashboard#signin=abc", "expiresAt": 5})

    code, text = run(["dashboard", "--ttl", "30", "--json"], answer)
    assert code == 0 and json.loads(text)["url"] == "http://api/dashboard#signin=abc"


def test_a_bulk_enqueue_reports_each_line_and_the_totals(tmp_path: Path) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"n": 1}\n\n{"n": 2}\n')

    def answer(request: httpx.Request) -> httpx.Response:
        jobs = json.loads(request.content)["jobs"]
        if request.url.path.endswith("/validate"):
            return httpx.Response(200, json={"valid": len(jobs)})
        first = {"jobId": jobs[0]["options"]["jobId"], "status": "pending", "deduplicated": True}
        second = {"jobId": jobs[1]["options"]["jobId"], "status": "pending"}
        return httpx.Response(202, json={"jobs": [first, second]})

    code, text = run(["enqueue", "q", "--file", str(path)], answer)
    lines = text.splitlines()
    assert code == 0 and lines[0].split()[:4] == ["LINE", "JOBID", "STATUS", "DEDUPLICATED"]
    assert [row.split()[0] for row in lines[1:3]] == ["1", "3"]
    assert lines[-1] == "accepted 1, deduplicated 1"
