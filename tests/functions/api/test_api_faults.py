"""The API when Redis or DynamoDB fails: a clear 503, and nothing half-written."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.functions.apiapp import ACME, Api, start_api
from tests.support.awsmock import AwsStack, BrokenClient, start_aws

DEAD_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def no_redis(aws: AwsStack, prefix: str) -> Iterator[Api]:
    yield from start_api(aws, prefix, redis_url=DEAD_REDIS)


def test_redis_down_is_a_503_and_leaves_no_record(no_redis: Api) -> None:
    reply = no_redis.client.post("/jobs/email", json={"data": {"n": 1}}, headers=ACME)
    assert reply.status_code == 503
    assert reply.json()["error"] == "unavailable"
    assert reply.json()["message"].startswith("Redis is unreachable")
    assert no_redis.store.list_jobs("email", tenant="acme").records == []
    batch = {"jobs": [{"data": {"n": 1}}, {"data": {"n": 2}}]}
    assert no_redis.client.post("/jobs/email/batch", json=batch, headers=ACME).status_code == 503
    assert no_redis.store.list_jobs("email", tenant="acme").records == []
    assert no_redis.client.get("/queues/email", headers=ACME).status_code == 503


def test_health_says_which_service_is_down(no_redis: Api) -> None:
    reply = no_redis.client.get("/health")
    assert reply.status_code == 503
    assert reply.json() == {
        "status": "unavailable",
        "checks": {"redis": False, "dynamodb": True, "sqs": True},
    }


def test_dynamodb_errors_are_a_503_and_nothing_reaches_redis(aws: AwsStack, prefix: str) -> None:
    broken = BrokenClient(
        aws.dynamodb, "put_item", "get_item", code="ProvisionedThroughputExceededException"
    )
    for api in start_api(aws, prefix, dynamodb=broken):
        reply = api.client.post("/jobs/email", json={"data": {"n": 1}}, headers=ACME)
        assert reply.status_code == 503 and reply.json()["message"].startswith("dynamodb")
        assert api.run(api.service.queue("email").counts).waiting == 0
        assert api.client.get("/jobs/email/any", headers=ACME).status_code == 503
        assert api.wakes.queues == []


class DownTable:
    """A boto3 table whose every call fails as DynamoDB does when retries are spent."""

    def __getattr__(self, operation: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> None:
            error = {"Error": {"Code": "ServiceUnavailable", "Message": "down"}}
            raise ClientError(error, operation)  # type: ignore[arg-type]

        return fail


def test_a_route_without_a_guard_of_its_own_answers_an_aws_failure_with_a_503(
    aws: AwsStack, prefix: str
) -> None:
    for api in start_api(aws, prefix, schedules=True):
        api.app.state.schedules.store.table = DownTable()
        body = {"queue": "email", "data": {"n": 1}, "every": 60_000}
        reply = api.client.post("/schedules", json=body, headers=ACME)
        assert reply.status_code == 503, reply.text
        assert reply.headers["Retry-After"] == "1"
        assert reply.json()["error"] == "unavailable"
        assert "ServiceUnavailable" in reply.json()["message"]
        assert "down" not in reply.json()["message"], "the code, not AWS's own words"
