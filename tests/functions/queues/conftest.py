"""Fixtures for the typed queues: moto for AWS (with the process-wide client and settings
caches reset around it) and a job context that records progress."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from corral.settings import get_settings
from moto import mock_aws

from tests.functions.queues.queue_helpers import REGION, RecordingContext, job_context


@pytest.fixture
def job() -> RecordingContext:
    return job_context()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every boto3 client made inside talks to moto."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()  # the process's wiring, and its clients, are made again
    with mock_aws():
        yield
    get_settings.cache_clear()
