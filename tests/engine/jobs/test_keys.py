"""keys.py and includes/keys.lua format every key of a queue alike: a tiny script runs
the include on Redis and its keys are compared with QueueKeys'."""

from __future__ import annotations

from typing import Any

from corral.keys import NAMED, QueueKeys
from corral.script_source import expand

FORMATTED = """
local k = {prefix = KEYS[1]}
--@include includes/keys.lua
local id = ARGV[1]
return {job_key(id), logs_key(id), group_key(id), dedup_key(id), kg_key(id), kg_rate_key(id),
  results_key(id), failures_key(id), minute_key(tonumber(ARGV[2]))}
"""


async def test_python_and_lua_format_every_key_alike(redis: Any, prefix: str) -> None:
    keys = QueueKeys("format-check", prefix)
    some_id, minute = "a.b-c_9", 29_440_001
    from_lua = await redis.eval(expand(FORMATTED), 1, keys.named("prefix"), some_id, minute)

    assert from_lua == [
        keys.job(some_id),
        keys.logs(some_id),
        keys.group(some_id),
        keys.dedup(some_id),
        keys.key_group(some_id),
        keys.key_group_rate(some_id),
        *keys.child_results(some_id),
        keys.minute(minute),
    ]


def test_every_named_key_is_in_the_queue_slot() -> None:
    keys = QueueKeys("slot", "corral")
    assert keys.named("prefix") == keys.base
    for name in NAMED:
        assert keys.named(name).startswith("corral:{slot}:")
    assert keys.script_keys(["meta", "wake"]) == [keys.meta, keys.wake]
