"""Hypothesis fuzzing of the validation and the entry points: every input ends in success
or a clear refusal (a ``ValidationError``, an ``InvalidIdentifierError``, a 4xx), never
a crash or a 500. Example counts are bounded so the module runs in well under a minute.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import pytest
import schemathesis
from api.factory import create_app
from corral.definition import QueueDefinition
from corral.errors import InvalidIdentifierError
from corral.job import JobOptions
from corral.keys import IDENTIFIER, QUEUE_NAME
from corral.queue import NewJob, Queue
from corral.validation import (
    depth_exceeds,
    json_body_refusal,
    require_identifier,
    require_queue_name,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from queues import registry as deployed_queues
from redis.asyncio import Redis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import SHARED_REDIS_URL, Payload, delete_prefix, noop
from tests.functions.security.secapp import ACME, ADMIN, SecApp, start_app

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
FORBIDDEN = set("{}:*\r\n\t \x00")

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
hostile_text = st.one_of(
    st.text(max_size=140),
    st.text(alphabet="{}:*\n\r. -_aZ09", max_size=20),
    st.from_regex(IDENTIFIER, fullmatch=True),
)


# -- validation ---------------------------------------------------------------------------


@FUZZ
@given(hostile_text)
def test_identifiers_pass_only_when_safe(value: str) -> None:
    try:
        assert require_identifier(value) == value
    except InvalidIdentifierError:
        assert IDENTIFIER.fullmatch(value) is None
    else:
        assert not set(value) & FORBIDDEN and 1 <= len(value) <= 128
    try:
        require_queue_name(value)
    except InvalidIdentifierError:
        assert QUEUE_NAME.fullmatch(value) is None
    else:
        assert not set(value) & FORBIDDEN


@FUZZ
@given(st.one_of(st.binary(max_size=300), json_values.map(lambda v: json.dumps(v).encode())))
def test_the_depth_check_never_raises(body: bytes) -> None:
    too_deep = json_body_refusal(body, 3) is not None
    try:
        document = json.loads(body)
    except ValueError:
        assert not too_deep
    else:
        assert too_deep == depth_exceeds(document, 3)


# -- models -------------------------------------------------------------------------------

option_keys = st.sampled_from(
    ["delay", "priority", "attempts", "backoff", "timeout", "ttl", "jobId", "deduplication"]
)
option_values = st.one_of(
    json_values,
    st.integers(min_value=-5, max_value=10**12),
    hostile_text,
    st.fixed_dictionaries(
        {"id": hostile_text},
        optional={
            "mode": st.sampled_from(["simple", "throttle", "debounce", "x"]),
            "ttl": st.integers(),
        },
    ),
    st.fixed_dictionaries(
        {},
        optional={"type": st.sampled_from(["fixed", "exponential", "?"]), "delay": st.integers()},
    ),
)
options_dicts = st.dictionaries(option_keys, option_values, max_size=5)


@FUZZ
@given(st.one_of(options_dicts, json_values))
def test_job_options_validate_or_refuse(raw: Any) -> None:
    try:
        options = JobOptions.model_validate(raw)
    except ValidationError:
        return
    for value in (options.job_id, options.deduplication and options.deduplication.id):
        if value:
            assert IDENTIFIER.fullmatch(value)


SAMPLES: dict[str, dict[str, Any]] = {
    "email": {"to": ["a@example.com"], "subject": "Hi", "template": "<p>{{name}}</p>"},
    "sms": {"phoneNumbers": ["+14155550100"], "message": "hello"},
    "data-export": {"exportType": "jobs", "format": "csv"},
    "file-processing": {"bucket": "files", "key": "acme/in.csv", "operation": "gzip"},
    "generic-task": {"taskName": "t", "functionName": "calculateSum", "parameters": [[1, 2]]},
}


@st.composite
def mutated_payloads(draw: st.DrawFn) -> tuple[str, Any]:
    """A valid sample of one of the five queues, then fields replaced, dropped or added."""
    queue = draw(st.sampled_from(sorted(SAMPLES)))
    data: dict[str, Any] = {"subAccountId": "acme", **SAMPLES[queue]}
    aliases = sorted({*data, "userId", "metadata", "templateData", "filters", "columns"})
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.one_of(st.sampled_from(aliases), st.text(max_size=8)))
        if draw(st.booleans()):
            data[key] = draw(st.one_of(json_values, hostile_text))
        else:
            data.pop(key, None)
    return queue, draw(st.one_of(st.just(data), json_values))


@FUZZ
@given(mutated_payloads())
def test_the_five_queues_payload_models_validate_or_refuse(case: tuple[str, Any]) -> None:
    queue, data = case
    model: type[BaseModel] = deployed_queues.get(queue).payload
    try:
        payload = model.model_validate(data)
    except ValidationError:
        return
    tenant = getattr(payload, "sub_account_id", None)
    assert tenant is None or IDENTIFIER.fullmatch(tenant)
    json.loads(payload.model_dump_json(by_alias=True))  # what the engine will store


# -- Queue.add_bulk on the shared Redis ------------------------------------------------------


@st.composite
def new_jobs(draw: st.DrawFn) -> NewJob:
    raw = draw(options_dicts)
    try:
        options = JobOptions.model_validate(raw)
    except ValidationError:
        options = None
    data = draw(st.one_of(st.fixed_dictionaries({"n": st.integers(-10, 10)}), json_values))
    group = draw(st.one_of(st.none(), hostile_text))
    return NewJob(data, options, group)


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_add_bulk_enqueues_or_refuses_and_keys_stay_in_the_slot(
    loop: asyncio.AbstractEventLoop,
) -> None:
    prefix = f"t{uuid4().hex[:12]}"
    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    queue = Queue(redis, QueueDefinition(name="fuzz", payload=Payload, handler=noop), prefix=prefix)

    @settings(FUZZ, max_examples=100)
    @given(st.lists(new_jobs(), min_size=1, max_size=5))
    def enqueue(jobs: list[NewJob]) -> None:
        try:
            results = loop.run_until_complete(queue.add_bulk(jobs))
        except (ValidationError, InvalidIdentifierError):
            return
        assert len(results) == len(jobs)
        for result in results:
            assert IDENTIFIER.fullmatch(result.job_id)

    try:
        enqueue()
        keys = loop.run_until_complete(_keys(redis, prefix))
        assert keys, "no example was enqueued"
        for key in keys:
            assert key.startswith(f"{prefix}:{{fuzz}}:"), key
            assert not set(key.split("}:", 1)[1]) & (FORBIDDEN - {":"}), key
    finally:
        loop.run_until_complete(delete_prefix(redis, prefix))
        loop.run_until_complete(redis.aclose())


async def _keys(redis: Redis, prefix: str) -> list[str]:
    return [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]


# -- the API's enqueue routes, through TestClient with moto ---------------------------------


@pytest.fixture(scope="module")
def deployed_app() -> Iterator[SecApp]:
    yield from start_app(queues=deployed_queues)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, Any]:
    queue = draw(st.one_of(st.sampled_from(sorted(SAMPLES)), hostile_text.filter(bool)))
    _, data = draw(mutated_payloads())
    job: Any = {"data": data}
    if draw(st.booleans()):
        job["options"] = draw(st.one_of(options_dicts, json_values))
    body = draw(
        st.one_of(
            st.just(job),
            st.just({"jobs": [job, job]}),
            json_values,
        )
    )
    return queue, body


def test_the_enqueue_routes_answer_2xx_or_a_clear_4xx(deployed_app: SecApp) -> None:
    seen: set[int] = set()

    @settings(FUZZ, max_examples=150)
    @given(requests(), st.booleans())
    def post(request: tuple[str, Any], batch: bool) -> None:
        queue, body = request
        path = f"/jobs/{quote(queue, safe='')}" + ("/batch" if batch else "")
        reply = deployed_app.client.post(path, json=body, headers=ACME)
        seen.add(reply.status_code)
        assert reply.status_code < 500, (path, body, reply.text)
        if reply.status_code >= 400:
            error = reply.json()
            assert set(error) <= {"error", "message", "details"} and error["message"]

    post()
    assert 202 in seen and 422 in seen, seen


# -- schemathesis over every operation of the app, in process -----------------------------

schema = schemathesis.openapi.from_dict(create_app(deployed_queues).openapi())
SCHEMA_EXAMPLES = int(os.environ.get("CORRAL_FUZZ_EXAMPLES", "5"))
"""Examples per operation: a few in the suite (CI); ``make fuzz`` sets thousands."""
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
"""No 5xx, and every answer (status, media type, headers, body) is one the schema declares."""
REAL_QUEUES = ("email", "generic-task")


def aimed(case: Any) -> None:
    """Point two cases in three at a real queue, so they get past the 404."""
    params = case.path_parameters or {}
    if "queue" in params:
        choice = len(str(params["queue"])) % 3
        if choice < len(REAL_QUEUES):
            params["queue"] = REAL_QUEUES[choice]


@schema.parametrize()
@settings(
    max_examples=SCHEMA_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented_and_never_5xx(
    case: Any, deployed_app: SecApp
) -> None:
    """Over the deployment's queues, on the module's one app (the properties need no
    clean slate)."""
    aimed(case)
    for caller in (ACME, ADMIN):
        kwargs = case.as_transport_kwargs(base_url="http://testserver", headers=caller)
        request: dict[str, Any] = {
            "method": kwargs["method"],
            "url": kwargs["url"],
            "headers": kwargs["headers"],
            "params": kwargs.get("params"),
        }
        if "json" in kwargs:
            request["json"] = kwargs["json"]
        elif kwargs.get("data") is not None:
            request["content"] = kwargs["data"]
        reply = deployed_app.client.request(**request)
        case.validate_response(reply, checks=CHECKS)
