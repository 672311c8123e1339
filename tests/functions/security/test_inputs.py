"""Names and ids never reach a Redis key unchecked, and bodies are bounded in size and depth.

Each hostile id is tried over HTTP (paths and bodies) and at the engine API (``Queue``,
``JobService``, the models, schedules, the client and the command line).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import corral_client
import httpx
import pytest
from corral.definition import QueueDefinition
from corral.errors import InvalidIdentifierError
from corral.job import Deduplication, JobOptions
from corral.keys import QueueKeys
from corral.queue import Queue
from corral.schedules import ScheduleCreate
from corral.validation import depth_exceeds, json_body_refusal
from corral_client import cli
from corral_client.client import Client
from pydantic import ValidationError

from tests.conftest import Payload, QueueFactory, noop
from tests.functions.security.secapp import ACME, ADMIN, MAX_BODY, SecApp, enqueue

HOSTILE = [
    "a:b",
    "a{b",
    "a}b",
    "{email}",
    "a\nb",
    "a\r\nb",
    "a*",
    "*",
    "a b",
    "a\x00b",
    "ä",
    "-lead",
    ".hidden",
    "x" * 129,
]
"""Each character a key could be broken with, and lengths and starts the pattern refuses."""
PATH_HOSTILE = [*HOSTILE, "..", "a/b", "%2e%2e"]

SAFE_KEY = re.compile(
    r"^(?P<prefix>[^{}]+):(\{(email|strict)\}:"
    r"(meta|ring|parked|gactive|active|delayed|completed|failed|cancelled|limiter|wake|poller"
    r"|(job|dedup|g|x):[A-Za-z0-9_.:-]+|[a-z0-9_:]+)"
    r"|\{t\.[A-Za-z0-9][A-Za-z0-9_.-]*\}:rate)$"  # a tenant's enqueue-rate bucket
)


def assert_keys_are_clean(app: SecApp) -> None:
    """Every key is under the app's prefix, in a known queue's slot, and holds no hostile id."""
    for key in app.redis_keys():
        assert SAFE_KEY.fullmatch(key), key
        assert key.startswith(f"{app.prefix}:{{"), key
        rest = key.split("}:", 1)[1]
        assert not set(rest) & set("{}*\r\n\x00 "), key


# -- over HTTP --------------------------------------------------------------------------


def test_hostile_job_ids_in_paths_are_refused(secapp: SecApp) -> None:
    for bad in PATH_HOSTILE:
        path = f"/jobs/email/{quote(bad, safe='')}"
        for method, url in (("GET", path), ("DELETE", path), ("POST", f"{path}/retry")):
            reply = secapp.client.request(method, url, headers=ACME)
            # 404 for an id that cannot exist; ``..`` is resolved by the HTTP client
            # into another route, which refuses the empty body instead.
            assert 400 <= reply.status_code < 500, (method, url, reply.text)
    assert secapp.redis_keys() == []


def test_hostile_queue_names_are_refused(secapp: SecApp) -> None:
    for bad in PATH_HOSTILE:
        name = quote(bad, safe="")
        for method, url in (
            ("POST", f"/jobs/{name}"),
            ("POST", f"/jobs/{name}/batch"),
            ("GET", f"/queues/{name}"),
            ("GET", f"/queues/{name}/jobs"),
            ("GET", f"/queues/{name}/throughput"),
            ("POST", f"/queues/{name}/pause"),
        ):
            body: dict[str, Any] = (
                {"data": {"n": 1}} if url.endswith(name) else {"jobs": [{"data": {}}]}
            )
            headers = ADMIN if url.endswith("pause") else ACME
            reply = secapp.client.request(method, url, headers=headers, json=body)
            assert 400 <= reply.status_code < 500, (method, url, reply.text)
            if bad not in ("..", "a/b"):
                assert reply.status_code == 404, (method, url, reply.text)
    assert secapp.redis_keys() == []


def test_hostile_ids_in_bodies_are_refused(secapp: SecApp) -> None:
    for bad in HOSTILE:
        refuse_in_bodies(secapp, bad)
    assert secapp.redis_keys() == []


def refuse_in_bodies(secapp: SecApp, bad: str) -> None:
    bodies: list[dict[str, Any]] = [
        {"data": {"n": 1}, "options": {"jobId": bad}},
        {"data": {"n": 1}, "options": {"deduplication": {"id": bad}}},
        {"data": {"n": 1}, "options": {"deduplication": {"id": bad, "mode": "debounce"}}},
    ]
    for body in bodies:
        reply = secapp.client.post("/jobs/email", json=body, headers=ACME)
        assert reply.status_code == 422, reply.text
        batch = secapp.client.post("/jobs/email/batch", json={"jobs": [body]}, headers=ACME)
        assert batch.status_code == 422, batch.text
    schedules: list[dict[str, Any]] = [
        {"queue": "email", "every": 60_000, "id": bad},
        {"queue": bad, "every": 60_000},
    ]
    for body in schedules:
        reply = secapp.client.post("/schedules", json=body, headers=ACME)
        assert reply.status_code == 422, reply.text
    reply = secapp.client.get(f"/schedules/{quote(bad, safe='')}", headers=ACME)
    assert reply.status_code in (404, 422), reply.text


def test_valid_ids_still_work_and_stay_in_their_slot(secapp: SecApp) -> None:
    enqueue(secapp, ACME, jobId="order-42.v1_a")
    enqueue(secapp, ACME, deduplication={"id": "mail.2026-11-22"})
    assert secapp.redis_keys(), "the enqueues wrote nothing"
    assert_keys_are_clean(secapp)


# -- body size and depth ------------------------------------------------------------------


def nested(depth: int) -> Any:
    """``depth`` levels of containers, alternating objects and arrays."""
    value: Any = 1
    for level in range(depth):
        value = {"k": value} if level % 2 else [value]
    return value


def test_depth_is_measured_without_recursion() -> None:
    assert not depth_exceeds(nested(32), 32)
    assert depth_exceeds(nested(33), 32)
    assert not depth_exceeds("[[[[", 1)
    deep = b"[" * 200_000 + b"]" * 200_000
    assert json_body_refusal(deep) == "the JSON body is nested deeper than 32 levels"
    assert json_body_refusal(b"not json {{{{") is None
    assert json_body_refusal(b"\xff\xfe") is None


def test_the_body_depth_is_bounded_before_validation(secapp: SecApp) -> None:
    # The body's root and ``data`` are two levels, so ``data.x`` may nest 30 more.
    ok = secapp.client.post("/jobs/email", json={"data": {"n": 1, "x": nested(30)}}, headers=ACME)
    assert ok.status_code == 202, ok.text
    too_deep = {"data": {"n": 1, "x": nested(31)}}
    reply = secapp.client.post("/jobs/email", json=too_deep, headers=ACME)
    assert reply.status_code == 422, reply.text
    assert reply.json() == {
        "error": "validation_error",
        "message": "the JSON body is nested deeper than 32 levels",
    }
    bomb = b'{"data": ' + b"[" * (MAX_BODY - 20) + b"}"
    for path in ("/jobs/email", "/jobs/email/batch", "/schedules", "/queues/email/clean"):
        reply = secapp.client.post(
            path, content=bomb, headers={**ACME, "content-type": "application/json"}
        )
        assert reply.status_code == 422, (path, reply.text)


NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]


@pytest.mark.parametrize("number", NON_FINITE)
def test_a_non_finite_number_anywhere_in_a_body_is_refused(secapp: SecApp, number: str) -> None:
    bodies = {
        "/jobs/email": '{"data": {"n": 1, "x": {"deep": [1, %s]}}}',
        "/jobs/email/batch": '{"jobs": [{"data": {"n": %s}}]}',
        "/schedules": '{"queue": "email", "data": {"n": %s}, "every": 60000}',
        "/webhooks": '{"queue": "email", "url": "https://hooks.example.com/in", "x": %s}',
        "/queues/email/clean": '{"grace": %s}',
    }
    bodies["/jobs/email?o"] = '{"data": {"n": 1}, "options": {"priority": %s}}'
    for path, template in bodies.items():
        reply = secapp.client.post(
            path.split("?")[0],
            content=template % number,
            headers={**ADMIN, "content-type": "application/json"},
        )
        assert reply.status_code == 422, (path, reply.text)
        assert reply.json() == {
            "error": "validation_error",
            "message": f"the JSON body holds {number}, which is not a finite number",
        }
    assert secapp.redis_keys() == []
    assert secapp.client.get("/schedules", headers=ADMIN).json()["schedules"] == []


def test_finite_numbers_and_look_alike_strings_pass() -> None:
    body = b'{"data": {"big": 1e300, "small": -2.5e-300, "s": "NaN", "i": 123456789012345}}'
    assert json_body_refusal(body) is None


def test_the_body_size_is_bounded(secapp: SecApp) -> None:
    big = {"data": {"n": 1, "pad": "x" * MAX_BODY}}
    reply = secapp.client.post("/jobs/email", json=big, headers=ACME)
    assert reply.status_code == 413
    assert reply.json()["error"] == "payload_too_large"

    def chunks() -> Any:
        for _ in range(MAX_BODY // 1000 + 2):
            yield b" " * 1000  # no Content-Length: read up to the limit, then refused

    streamed = secapp.client.post(
        "/jobs/email", content=chunks(), headers={**ACME, "content-type": "application/json"}
    )
    assert streamed.status_code == 413
    assert secapp.redis_keys() == []


# -- at the engine API ----------------------------------------------------------------------


@pytest.mark.parametrize("bad", HOSTILE)
async def test_the_engine_refuses_hostile_ids(make_queue: QueueFactory, bad: str) -> None:
    queue: Queue = make_queue()
    with pytest.raises(ValidationError):
        JobOptions(job_id=bad)
    with pytest.raises(ValidationError):
        Deduplication.model_validate({"id": bad})
    with pytest.raises(ValidationError):
        JobOptions.model_validate({"jobId": bad})
    with pytest.raises(ValidationError):
        ScheduleCreate.model_validate({"queue": "email", "every": 60_000, "id": bad})
    with pytest.raises(InvalidIdentifierError):
        await queue.add({"n": 1}, group=bad)
    with pytest.raises(InvalidIdentifierError):
        await queue.add({"n": 1, "subAccountId": bad})
    for operation in (queue.cancel, queue.retry, queue.get_job):
        with pytest.raises(InvalidIdentifierError):
            await operation(bad)
    with pytest.raises(InvalidIdentifierError):
        await queue.progress(bad, "token", 50)
    keys = [k async for k in queue.redis.scan_iter(match=f"{queue.keys.prefix}:*")]
    assert keys == []


@pytest.mark.parametrize("bad", [*HOSTILE, "Upper", "a.b"])
def test_queue_names_and_prefixes_are_checked_where_keys_are_made(bad: str) -> None:
    with pytest.raises(ValueError, match="queue name"):
        QueueDefinition(name=bad, payload=Payload, handler=noop)
    with pytest.raises(ValueError, match="queue name"):
        QueueKeys(bad)
    if bad not in ("Upper", "a.b", "a:b", "-lead", ".hidden"):
        with pytest.raises(ValueError, match="key prefix"):
            QueueKeys("email", bad)


async def test_the_job_service_refuses_a_hostile_tenant_and_leaves_no_record(
    secapp: SecApp,
) -> None:
    for bad in HOSTILE:
        with pytest.raises(InvalidIdentifierError):
            secapp.client.portal.call(  # type: ignore[union-attr]
                secapp.service.enqueue, "email", {"n": 1}, JobOptions(job_id="j-1"), bad
            )
    assert secapp.store.get("email", "j-1") is None
    assert secapp.redis_keys() == []


@pytest.mark.parametrize("bad", PATH_HOSTILE)
def test_the_client_and_cli_send_nothing_for_hostile_ids(bad: str) -> None:
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={})

    transport = httpx.MockTransport(answer)
    with Client("http://corral.test", "t", transport=transport) as client:
        calls: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
            (client.status, ("email", bad)),
            (client.cancel, ("email", bad)),
            (client.retry, ("email", bad)),
            (client.stats, (bad,)),
            (client.enqueue, (bad, {})),
            (client.delete_schedule, (bad,)),
        ]
        for method, args in calls:
            with pytest.raises(corral_client.InvalidIdentifierError):
                method(*args)
    code = cli.main(["status", "--", "email", bad], out=io.StringIO(), transport=transport)
    assert code == 1
    assert sent == []


def test_error_bodies_do_not_echo_hostile_input(secapp: SecApp) -> None:
    marker = "a{b}\nINJECT"
    reply = secapp.client.post(
        "/jobs/email", json={"data": {"n": 1}, "options": {"jobId": marker}}, headers=ACME
    )
    assert reply.status_code == 422
    assert marker not in json.dumps(reply.json())
