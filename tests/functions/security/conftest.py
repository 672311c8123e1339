"""Fixtures of the security tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.functions.security.secapp import SecApp, start_app
from tests.functions.security.tlsredis import TlsRedis, start_tls_redis


@pytest.fixture
def secapp() -> Iterator[SecApp]:
    yield from start_app()


@pytest.fixture(scope="session")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    """One TLS-only, ACL-protected redis-server for the session."""
    server = start_tls_redis(tmp_path_factory.mktemp("tls-redis"))
    try:
        yield server
    finally:
        server.stop()
