"""``make run``'s Redis check (infra/ensure_redis.sh) reaches Redis as the functions do:
TLS and a password from the URL, never printing the password; it starts a throwaway
Redis only for a plain loopback URL without credentials."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from corral_client.redact import redact_url

from infra.redis_check import startable_port
from tests.functions.security.tlsredis import TlsRedis
from tests.support.emulator import ROOT


def ensure(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "REDIS_URL": url, "PY": sys.executable}
    return subprocess.run(
        ["bash", "infra/ensure_redis.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_a_tls_url_with_a_password_is_used_as_given(tls_redis: TlsRedis) -> None:
    name, password = f"u{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    tls_redis.add_user(name, password)

    done = ensure(tls_redis.url(name, password))

    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_refused_password_is_reported_without_it(tls_redis: TlsRedis) -> None:
    name, password = f"u{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    tls_redis.add_user(name, password)

    done = ensure(tls_redis.url(name, password + "x"))

    assert done.returncode == 1
    assert "does not answer" in done.stderr and "AuthenticationError" in done.stderr
    assert password not in done.stdout + done.stderr
    assert f"{name}:***@" in done.stderr


def test_only_a_plain_loopback_url_without_credentials_may_get_a_local_redis() -> None:
    assert startable_port("redis://127.0.0.1:6390/0") == 6390
    assert startable_port("redis://localhost/0") == 6379
    assert startable_port("redis://:pw@127.0.0.1:6390/0") is None
    assert startable_port("rediss://127.0.0.1:6390/0") is None
    assert startable_port("redis://cache.internal:6379/0") is None
    assert redact_url("rediss://app:pw@h:1/0?x=1") == "rediss://app:***@h:1/0?x=1"
    assert redact_url("redis://h:1/0") == "redis://h:1/0"
