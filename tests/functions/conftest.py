"""Fixtures of the handler tests: AWS emulated in-process, and the API app on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functions.apiapp import Api, start_api
from tests.support.awsmock import AwsStack, start_aws


@pytest.fixture
def aws() -> Iterator[AwsStack]:
    yield from start_aws()


@pytest.fixture
def api(aws: AwsStack, prefix: str) -> Iterator[Api]:
    yield from start_api(aws, prefix)
