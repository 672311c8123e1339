"""Fixtures of the handler tests: AWS emulated in-process, and the API app on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.awsmock import AwsStack, start_aws
from tests.handlers.apiapp import Api, start_api


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def api(aws: AwsStack, prefix: str) -> Iterator[Api]:
    yield from start_api(aws, prefix)
