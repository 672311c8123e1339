"""``python -m infra.redis_check URL``: does the Redis at URL answer, reached as the functions
reach it (``rediss://`` for TLS, a user and a password in the URL)? The password is never
printed.

Exit 0: it answers. Exit 3, with the port on stdout: nothing answers at a plain loopback
URL without credentials, where ``make run`` may start a throwaway Redis. Exit 1: it does
not answer, and the reason is on stderr.
"""

from __future__ import annotations

import sys
from urllib.parse import urlsplit

import redis
from corral_client.redact import redact_text, redact_url

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def startable_port(url: str) -> int | None:
    """The port of a plain loopback URL without credentials (one we may start a Redis on)."""
    parts = urlsplit(url)
    if parts.scheme != "redis" or parts.hostname not in LOOPBACK:
        return None
    if parts.username or parts.password:
        return None
    return parts.port or 6379


def ping_error(url: str) -> str | None:
    """None if the Redis at ``url`` answers PING, else why not (without the password)."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
    except ValueError as exc:
        return f"the URL is not a Redis URL ({exc})"
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()
    return None


def main(argv: list[str]) -> int:
    (url,) = argv
    error = ping_error(url)
    if error is None:
        return 0
    port = startable_port(url)
    if port is not None and error.startswith("ConnectionError"):
        print(port)
        return 3
    # redis-py's messages name the host and port; drop the password in case one ever echoes it.
    print(f"Redis at {redact_url(url)} does not answer: {redact_text(error, url)}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
