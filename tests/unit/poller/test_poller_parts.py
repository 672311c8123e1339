"""Pure parts of the poller, reconciler, Redis client factory and emulator (no network)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest
from botocore.credentials import ReadOnlyCredentials
from corral.definition import QueueDefinition
from corral.lambda_support import queue_of
from corral.poller import Poller, PollerSettings
from corral.queue import Queue
from corral.redis_client import create_redis, iam_auth_token
from corral.settings import Settings
from pydantic import BaseModel
from redis.asyncio import Redis, RedisCluster

from infra.local.settings import LocalSettings
from infra.local.template import fallback, rate_seconds, scheduled_functions


class Empty(BaseModel):
    pass


def poller(limit: int, **settings: Any) -> Poller:
    definition = QueueDefinition("q", Empty, handler=lambda p, j: None, concurrency=limit)
    queue = Queue(cast(Any, None), definition)
    return Poller(queue, settings=PollerSettings(**settings))


@pytest.mark.parametrize(
    ("limit", "backlog", "wanted"),
    [(8, 0, 1), (8, 10_000, 1), (16, 32, 1), (16, 33, 2), (0, 10_000, 10), (40, 10_000, 5)],
)
def test_pollers_wanted_grow_with_the_backlog_up_to_the_queue_limit(
    limit: int, backlog: int, wanted: int
) -> None:
    assert poller(limit, concurrency=8).pollers_wanted(backlog) == wanted


def test_a_poller_runs_at_most_eight_handlers_by_default() -> None:
    assert poller(0).concurrency == 8
    assert poller(3).concurrency == 3


@pytest.mark.parametrize(
    ("event", "default", "queue"),
    [
        ({"queue": "email"}, "", "email"),
        ({"detail": {"queue": "sms"}, "detail-type": "Scheduled Event"}, "", "sms"),
        ({"detail": {}}, "email", "email"),
        ({"queue": "sms"}, "email", "email"),
        (None, "", ""),
    ],
)
def test_the_queue_comes_from_the_environment_then_the_event(
    event: dict[str, Any] | None, default: str, queue: str
) -> None:
    assert queue_of(event, default) == queue


def test_iam_tokens_are_presigned_connect_requests() -> None:
    credentials = ReadOnlyCredentials("AKIDEXAMPLE", "secret", None)

    token = iam_auth_token("my-cache", "corral", "eu-west-1", credentials)

    assert token.startswith("my-cache/?")
    for part in ("Action=connect", "User=corral", "ResourceType=ServerlessCache"):
        assert part in token
    assert "X-Amz-Signature=" in token
    assert "X-Amz-Expires=900" in token


async def test_the_client_factory_builds_single_or_cluster_clients_with_retries() -> None:
    single = create_redis(Settings(redis_url="redis://127.0.0.1:6399/2"))
    cluster = create_redis(Settings(redis_url="rediss://127.0.0.1:6399", redis_cluster=True))
    try:
        assert isinstance(single, Redis)
        assert single.get_retry() is not None
        assert single.connection_pool.connection_kwargs["db"] == 2
        assert isinstance(cluster, RedisCluster)
    finally:
        await single.aclose()
        await cluster.aclose()


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(2 hours)", 7200),
        ("cron(0 * * * ? *)", None),
    ],
)
def test_rate_expressions(expression: str, seconds: int | None) -> None:
    assert rate_seconds(expression) == seconds


def test_schedules_come_from_the_template(tmp_path: Path) -> None:
    template = tmp_path / "template.yaml"
    template.write_text(
        """
Resources:
  Tick:
    Type: AWS::Serverless::Function
    Properties:
      Handler: reconciler.app.handler
      Timeout: 120
      Events:
        Every:
          Type: Schedule
          Properties:
            Schedule: rate(10 minutes)
  Hourly:
    Type: AWS::Serverless::Function
    Properties:
      Handler: scheduler.app.handler
      Events:
        Cron:
          Type: Schedule
          Properties:
            Schedule: cron(0 * * * ? *)
  Api:
    Type: AWS::Serverless::Function
    Properties:
      Handler: api.app.handler
"""
    )

    functions, notes = scheduled_functions(template)

    by_handler = {f.handler: f for f in functions}
    assert set(by_handler) == {"reconciler.app.handler", "scheduler.app.handler"}
    assert (
        by_handler["reconciler.app.handler"].period_s,
        by_handler["reconciler.app.handler"].timeout_s,
    ) == (600, 120)
    assert by_handler["scheduler.app.handler"].period_s == 60
    assert len(notes) == 1


def test_without_a_template_everything_runs_each_minute(tmp_path: Path) -> None:
    functions, notes = scheduled_functions(tmp_path / "missing.yaml")

    assert functions == fallback()
    assert "not found" in notes[0]


def test_the_emulator_periods_follow_the_template_unless_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scheduler, reconciler = "scheduler.app.handler", "reconciler.app.handler"
    plain = LocalSettings()
    assert (plain.period_s(scheduler, 60), plain.period_s(reconciler, 300)) == (60, 300)
    monkeypatch.setenv("CORRAL_LOCAL_SCHEDULE_S", "2")
    assert (LocalSettings().period_s(scheduler, 60), LocalSettings().period_s(reconciler, 300)) == (
        2,
        2,
    )
    monkeypatch.setenv("CORRAL_LOCAL_RECONCILE_S", "45")
    both = LocalSettings()
    assert (both.period_s(scheduler, 60), both.period_s(reconciler, 300)) == (2, 45)
