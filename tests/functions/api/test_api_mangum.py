"""The API function as Lambda runs it: Mangum, real HTTP API v2 events, authorizer claims."""

from __future__ import annotations

import asyncio
import copy
import importlib
import json
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from api.factory import create_app
from api.wiring import build_app
from corral import pricing
from corral.event_loops import new_loop
from corral.settings import Settings
from corral.store import JobStore
from corral.wiring import Wiring
from fastapi.testclient import TestClient
from mangum import Mangum
from redis.asyncio import Redis

from tests.conftest import SHARED_REDIS_URL
from tests.functions.apiapp import delete_prefix_sync, registry
from tests.support.awsmock import REGION, AwsStack, start_aws

EVENTS = Path(__file__).resolve().parents[3] / "events"


class LambdaContext:
    function_name = "corral-api"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:corral-api"
    memory_limit_in_mb = 1024
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef"
    log_group_name = "/aws/lambda/corral-api"
    log_stream_name = "2026/06/01/[$LATEST]abcdef"
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return loaded


def get_event(job_id: str) -> dict[str, Any]:
    template = event("api_get_job")
    text = json.dumps(template).replace("JOB_ID", job_id)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


class LambdaRuntime:
    """Calls a handler as the Lambda runtime does: one thread, one event loop kept warm.

    A thread of its own keeps the test's loop (pytest-asyncio's) out of it. It starts with
    a loop of corral's kind current; importing ``api.app`` there sets the API's own.
    """

    def __init__(self, app: Any) -> None:
        self._first = new_loop()
        self.thread = ThreadPoolExecutor(
            1, initializer=asyncio.set_event_loop, initargs=(self._first,)
        )
        # Mangum adopts the current loop when it is built: build it on the runtime thread.
        self.handler: Mangum = self.thread.submit(Mangum, app, lifespan="off").result()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The loop current on the runtime thread (the one Mangum runs requests on)."""
        return self.run(asyncio.get_event_loop)  # type: ignore[no-any-return]

    def run(self, fn: Any, *args: Any) -> Any:
        """Run ``fn`` on the runtime thread (module imports that build a handler)."""
        return self.thread.submit(fn, *args).result()

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        reply: dict[str, Any] = self.thread.submit(self.handler, event, LambdaContext()).result()
        return reply

    def close(self, *closing: Any) -> None:
        """Run each ``closing()`` on the current loop, then close every loop the thread had:
        its first, and the API module's if it was imported (even if no longer current)."""
        for aclose in closing:
            self.thread.submit(self.loop.run_until_complete, aclose()).result()
        api_loop = getattr(sys.modules.get("api.app"), "event_loop", None)
        for each in (self._first, api_loop):
            if each is not None and not each.is_closed():
                self.thread.submit(each.close).result()
        self.thread.shutdown()


@pytest.fixture
def lambda_handler(aws: AwsStack, prefix: str) -> Iterator[LambdaRuntime]:
    """Mangum over an app that trusts only the authorizer (no API keys)."""
    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    store = JobStore(aws.dynamodb, aws.table)
    app = create_app(registry(), redis=redis, store=store, prefix=prefix)
    runtime = LambdaRuntime(app)
    try:
        yield runtime
    finally:
        runtime.close(redis.aclose)
        store.close()
        delete_prefix_sync(prefix)


def test_enqueue_and_read_through_api_gateway_events(lambda_handler: LambdaRuntime) -> None:
    reply = lambda_handler(event("api_enqueue"))
    assert reply["statusCode"] == 202, reply
    assert reply["headers"]["content-type"] == "application/json"
    job_id = json.loads(reply["body"])["jobId"]
    # A later call on the same loop reuses the module's clients, as a warm Lambda does.
    reply = lambda_handler(get_event(job_id))
    assert reply["statusCode"] == 200, reply
    job = json.loads(reply["body"])
    assert job["data"]["subAccountId"] == "acme", "tenant from the JWT claims"
    assert (job["status"], job["attempts"]) == ("pending", 5)


@pytest.fixture
def shipped_handler(aws: AwsStack, prefix: str) -> Iterator[LambdaRuntime]:
    """Mangum over the shipped queues (functions/queues), as the deployed API serves them."""
    import queues

    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    store = JobStore(aws.dynamodb, aws.table)
    runtime = LambdaRuntime(create_app(queues.registry, redis=redis, store=store, prefix=prefix))
    try:
        yield runtime
    finally:
        runtime.close(redis.aclose)
        store.close()
        delete_prefix_sync(prefix)


def test_the_sample_enqueue_event_is_a_valid_job_of_the_shipped_queue(
    shipped_handler: LambdaRuntime,
) -> None:
    # `sam local invoke -e events/api_enqueue.json` and the docs use this event.
    reply = shipped_handler(event("api_enqueue"))
    assert reply["statusCode"] == 202, reply
    job_id = json.loads(reply["body"])["jobId"]
    job = json.loads(shipped_handler(get_event(job_id))["body"])
    assert (job["queue"], job["status"]) == ("email", "pending")


def test_the_authorizer_decides_the_tenant(lambda_handler: LambdaRuntime) -> None:
    job_id = json.loads(lambda_handler(event("api_enqueue"))["body"])["jobId"]
    other = get_event(job_id)
    other["requestContext"]["authorizer"]["lambda"]["tenant"] = "zeta"
    assert lambda_handler(other)["statusCode"] == 404
    anonymous = copy.deepcopy(other)
    del anonymous["requestContext"]["authorizer"]
    reply = lambda_handler(anonymous)
    assert reply["statusCode"] == 401 and json.loads(reply["body"])["error"] == "unauthorized"
    pause = get_event(job_id)
    pause["rawPath"] = pause["requestContext"]["http"]["path"] = "/queues/email/pause"
    pause["requestContext"]["http"]["method"] = "POST"
    assert lambda_handler(pause)["statusCode"] == 403
    pause["requestContext"]["authorizer"]["lambda"]["admin"] = True
    assert lambda_handler(pause)["statusCode"] == 200


def test_the_deployment_app_builds_from_settings(aws: AwsStack, prefix: str) -> None:
    settings = Settings.model_validate(
        {
            "table": aws.table,
            "dlq_url": aws.dlq_url,
            "bucket": aws.bucket,
            "schedules_table": "",
            "api_keys": "k1:acme",
            "key_prefix": prefix,
            "poller_function": "corral-poller-{queue}",
        }
    )
    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    app = build_app(Wiring(settings, redis=lambda: redis))
    with TestClient(app) as http:
        checks = http.get("/health").json()["checks"]
        assert checks == {"redis": True, "dynamodb": True, "sqs": True}
        assert set(app.state.service.queues) >= {"email", "sms", "data-export"}
        assert http.get("/queues/email", headers={"Authorization": "Bearer k1"}).status_code == 200
        http.portal.call(redis.aclose)  # type: ignore[union-attr]
    delete_prefix_sync(prefix)


@pytest.mark.parametrize("provisioned", [False, True])
def test_the_stats_cost_estimate_follows_the_job_tables_billing(
    aws: AwsStack, prefix: str, provisioned: bool
) -> None:
    settings = Settings.model_validate(
        {
            "table": aws.table,
            "dlq_url": aws.dlq_url,
            "bucket": aws.bucket,
            "tenant_table": "corral-tenants",
            "key_prefix": prefix,
            "job_table_provisioned": provisioned,
        }
    )
    redis = Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    app = build_app(Wiring(settings, redis=lambda: redis))
    assert app.state.stats.write_unit == pricing.job_table_write_unit(provisioned)
    assert (app.state.stats.write_unit < pricing.DYNAMODB_WRITE_UNIT) is provisioned


def test_the_function_module_exposes_app_and_handler() -> None:
    runtime = LambdaRuntime(None)
    try:
        module = runtime.run(importlib.import_module, "api.app")
    finally:
        runtime.close()
    assert isinstance(module.handler, Mangum)
    assert module.app.title == "corral"
