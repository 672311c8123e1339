"""One-time dashboard sign-in links: the link carries a code, never the token; the code
works once and expires; Redis never holds the token in the clear."""

from __future__ import annotations

import time

import redis as sync_redis

from tests.conftest import SHARED_REDIS_URL
from tests.functions.apiapp import ACME, Api


def code_of(api: Api, ttl: int | None = None) -> str:
    reply = api.client.post("/dashboard/links", json={"ttl": ttl} if ttl else None, headers=ACME)
    assert reply.status_code == 201, reply.text
    path: str = reply.json()["path"]
    assert path.startswith("/dashboard#signin=") and "k-acme" not in path
    return path.split("=", 1)[1]


def redeem(api: Api, code: str) -> tuple[int, dict[str, str]]:
    reply = api.client.post("/dashboard/session", json={"code": code})
    assert reply.headers.get("cache-control") == "no-store" or reply.status_code != 200
    return reply.status_code, reply.json()


def test_a_link_signs_in_once_and_redis_never_holds_the_token(api: Api, prefix: str) -> None:
    code = code_of(api)
    stored = sync_redis.Redis.from_url(SHARED_REDIS_URL, decode_responses=True)
    try:
        keys = list(stored.scan_iter(f"{prefix}:signin:*"))
        assert len(keys) == 1 and 0 < stored.ttl(keys[0]) <= 60
        assert "k-acme" not in (stored.get(keys[0]) or "") and code not in keys[0]
    finally:
        stored.close()
    assert redeem(api, code) == (200, {"token": "k-acme"})
    status, body = redeem(api, code)
    assert status == 401 and "already used" in body["message"]


def test_a_link_expires(api: Api) -> None:
    code = code_of(api, ttl=1)
    time.sleep(1.2)
    assert redeem(api, code)[0] == 401


def test_a_wrong_code_is_refused_without_a_5xx(api: Api) -> None:
    for code in ["", "x", "!" * 64, "A" * 64, "A" * 200]:
        reply = api.client.post("/dashboard/session", json={"code": code})
        assert reply.status_code in (401, 422), (code, reply.text)


def test_only_a_caller_with_a_token_makes_links(api: Api) -> None:
    assert api.client.post("/dashboard/links").status_code == 401
    too_long = api.client.post("/dashboard/links", json={"ttl": 3600}, headers=ACME)
    assert too_long.status_code == 422
