"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.security.secapp import SecApp, start_app


@pytest.fixture
def secapp() -> Iterator[SecApp]:
    yield from start_app()
